import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A fenced code block of a Markdown file. */
export interface Snippet {
  /** The Markdown file, relative to the repository. */
  file: string;
  /** The line of the opening fence (1-based): the snippet's line n is the file's `line + n`. */
  line: number;
  /** The fence's language: `ts`, `js`, `sh`... */
  lang: string;
  /**
   * From an HTML comment `<!-- snippet: NAME -->` before the fence (blank lines between
   * allowed): `fragment` for a block that is not a whole file, `quick-start`.
   */
  marker: string | undefined;
  code: string;
}

const FENCE = /^```(\S*)\s*$/;
// `<!-- snippet: fragment (why) -->`: a word, then anything that explains it.
const MARKER = /^<!--\s*snippet:\s*([\w-]+)[^>]*-->$/;

/** Every fenced block of one Markdown file. */
export function snippetsOf(root: string, file: string): Snippet[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const snippets: Snippet[] = [];
  let marker: string | undefined;
  for (let index = 0; index < lines.length; index += 1) {
    const text = lines[index] ?? '';
    const markerMatch = MARKER.exec(text.trim());
    if (markerMatch) {
      marker = markerMatch[1];
      continue;
    }
    const fence = FENCE.exec(text);
    if (!fence) {
      if (text.trim() !== '') marker = undefined;
      continue;
    }
    const start = index;
    const body: string[] = [];
    for (index += 1; index < lines.length && !/^```\s*$/.test(lines[index] ?? ''); index += 1) {
      body.push(lines[index] ?? '');
    }
    snippets.push({ file, line: start + 1, lang: fence[1] ?? '', marker, code: body.join('\n') });
    marker = undefined;
  }
  return snippets;
}

/** The Markdown files whose code must compile: the README and everything in docs/. */
export function documentedFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => relative(root, join(root, 'docs', name)));
  return ['README.md', ...docs];
}
