import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  createConsumerProject,
  repositoryRoot,
  STRICT_SHOP_COMPILER_OPTIONS,
  type ConsumerProject,
} from './support/consumer-project.js';
import { documentedFiles, snippetsOf, type Snippet } from './support/markdown-snippets.js';

/**
 * Every `ts` block of the README and of docs/ compiles, as a module of its own, against the
 * built package (run `npm run build` first; `npm test` does), in a strict project outside the
 * repository under both module resolutions a shop is likely to use. Blocks that are not whole
 * files are marked `<!-- snippet: fragment -->` and skipped; the Quick start may not be one.
 */

const RESOLUTIONS = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
} as const;
type Resolution = keyof typeof RESOLUTIONS;

const PEERS = [
  'express',
  'express-session',
  'ioredis',
  'bullmq',
  'redis',
  'connect-redis',
  'supertest',
  '@types',
  '@opentelemetry',
  // docs/queue.md's bull-board recipe: dev dependencies, only for the check.
  '@bull-board',
];

/** A compiler error, placed in the Markdown file the snippet came from. */
interface SnippetError {
  /** Unset for an error outside the snippets, such as a bad tsconfig. */
  snippet: Snippet | undefined;
  /** `README.md:57:12 TS2339 Property 'body' does not exist...` */
  text: string;
  code: string;
}

const typeChecked = documentedFiles(repositoryRoot)
  .flatMap((file) => snippetsOf(repositoryRoot, file))
  .filter((snippet) => ['ts', 'typescript'].includes(snippet.lang))
  .filter((snippet) => snippet.marker !== 'fragment');

const fileNameOf = (snippet: Snippet) =>
  `${snippet.file.replace(/[^A-Za-z0-9]+/g, '-')}-L${snippet.line}.ts`;

const ERROR_LINE = /^snippets\/(\S+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/;

/** tsc's `--pretty false` output, each error placed at its line in the Markdown file. */
function placeErrors(output: string): SnippetError[] {
  const byFile = new Map(typeChecked.map((snippet) => [fileNameOf(snippet), snippet]));
  const errors: SnippetError[] = [];
  for (const line of output.split('\n')) {
    const match = ERROR_LINE.exec(line);
    const snippet = match && byFile.get(match[1] ?? '');
    if (match && snippet) {
      const [, , row, column, code = '', message] = match;
      const at = `${snippet.file}:${snippet.line + Number(row)}:${column}`;
      errors.push({ snippet, code, text: `${at} ${code} ${message}` });
    } else if (line.trim() !== '') {
      // A continuation of the error before, or an error outside the snippets (a config error).
      const last = errors.at(-1);
      if (last && /^\s/.test(line)) last.text += `\n${line}`;
      else errors.push({ snippet: undefined, code: 'tsc', text: line });
    }
  }
  return errors;
}

let project: ConsumerProject;
let checked: Promise<Record<Resolution, SnippetError[]>>;

beforeAll(() => {
  project = createConsumerProject(PEERS);
  // Under node16 the snippets are ES modules, as in a shop with "type": "module".
  writeFileSync(join(project.dir, 'package.json'), JSON.stringify({ type: 'module' }));
  mkdirSync(join(project.dir, 'snippets'));
  for (const snippet of typeChecked) {
    // `export {}` makes every snippet a module, whatever it imports.
    writeFileSync(
      join(project.dir, 'snippets', fileNameOf(snippet)),
      `${snippet.code}\nexport {};\n`,
    );
  }
  const tsc = join(repositoryRoot, 'node_modules/typescript/bin/tsc');
  const check = async (resolution: Resolution): Promise<SnippetError[]> => {
    const config = `tsconfig.${resolution}.json`;
    writeFileSync(
      join(project.dir, config),
      JSON.stringify({
        compilerOptions: { ...RESOLUTIONS[resolution], ...STRICT_SHOP_COMPILER_OPTIONS },
        include: ['snippets'],
      }),
    );
    try {
      await promisify(execFile)(process.execPath, [tsc, '-p', config, '--pretty', 'false'], {
        cwd: project.dir,
      });
      return [];
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      return placeErrors(`${stdout ?? ''}${stderr ?? ''}`);
    }
  };
  // Both at once: one tsc per resolution over all the snippets, side by side on two cores.
  checked = Promise.all([check('node16'), check('bundler')]).then(([node16, bundler]) => ({
    node16,
    bundler,
  }));
  // Failures are read by the tests below; keep an early one from being reported as unhandled.
  checked.catch(() => undefined);
});
afterAll(() => {
  project.remove();
});

it('finds the Quick start in the README, as a whole file', () => {
  const quickStarts = typeChecked.filter((snippet) => snippet.marker === 'quick-start');
  expect(quickStarts.map((snippet) => snippet.file)).toEqual(['README.md']);
  expect(typeChecked.length).toBeGreaterThan(5);
});

describe.each(Object.keys(RESOLUTIONS) as Resolution[])('moduleResolution %s', (resolution) => {
  it('compiles every ts block of README.md and docs/*.md against the build', async () => {
    expect((await checked)[resolution].map((error) => error.text)).toEqual([]);
  }, 240_000);
});
