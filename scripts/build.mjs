// Builds CommonJS (dist/cjs) and ESM (dist/esm) from the same sources with plain tsc, and marks
// each folder with its module type so Node and TypeScript read both correctly.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const tsc = (...args) =>
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', ...args], {
    stdio: 'inherit',
  });

rmSync('dist', { recursive: true, force: true });
tsc('-p', 'tsconfig.build.json', '--outDir', 'dist/cjs');
tsc(
  '-p',
  'tsconfig.build.json',
  '--outDir',
  'dist/esm',
  '--module',
  'ES2022',
  '--moduleResolution',
  'Bundler',
);
for (const [folder, type] of [
  ['dist/cjs', 'commonjs'],
  ['dist/esm', 'module'],
]) {
  mkdirSync(folder, { recursive: true });
  writeFileSync(`${folder}/package.json`, `${JSON.stringify({ type }, null, 2)}\n`);
}
// tsc writes files without the execute bit; npm sets it on the bins of an installed package,
// but in this repository `npx sovendus-express` runs the built file as it is.
const { bin } = JSON.parse(readFileSync('package.json', 'utf8'));
for (const path of Object.values(bin)) chmodSync(path, 0o755);
