import { execFileSync } from 'node:child_process';
import { repositoryRoot } from './support/consumer-project.js';

/**
 * The options tables of the README and docs/api.md, docs/api.md's options reference and its
 * environment table are written from the code (the TSDoc of `SovendusOptions`, the defaults the
 * built schema fills in, the table of settings) by `scripts/options-table.mjs`; `--check` fails
 * when one differs from what the code says now.
 */
it('documents every option as the code defines it (node scripts/options-table.mjs)', () => {
  expect(() =>
    execFileSync(process.execPath, ['scripts/options-table.mjs', '--check'], {
      cwd: repositoryRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ).not.toThrow();
}, 60_000);
