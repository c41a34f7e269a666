import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { repositoryRoot } from './support/consumer-project.js';
import { documentedFiles } from './support/markdown-snippets.js';

/** Every name a shop can import, from each entry point's source. */
function exportedNames(): string[] {
  const entries = ['src/index.ts', 'src/testing/index.ts', 'src/bullmq.ts'].map((file) =>
    join(repositoryRoot, file),
  );
  const program = ts.createProgram(entries, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  return entries.flatMap((entry) => {
    const source = program.getSourceFile(entry);
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`cannot read the exports of ${entry}`);
    return checker.getExportsOfModule(module).map((symbol) => symbol.name);
  });
}

it('names every export of the three entry points in the README or docs/', () => {
  const docs = documentedFiles(repositoryRoot)
    .map((file) => readFileSync(join(repositoryRoot, file), 'utf8'))
    .join('\n');
  const names = exportedNames();
  expect(names.length).toBeGreaterThan(60);
  expect(names.filter((name) => !new RegExp(`\`[^\`\\n]*\\b${name}\\b`).test(docs))).toEqual([]);
}, 60_000);
