import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository, whose build and `node_modules` the consumer projects borrow from. */
export const root = resolve(__dirname, '../..');

/** Runs a command to its end and answers its stdout; a failure throws with its output. */
export const run = (command: string, args: readonly string[], cwd: string): string =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * Packs the package as `npm publish` would (from the build already made: no scripts run)
 * into `destination`, and answers the tarball's path.
 */
export function pack(destination: string): string {
  const [packed] = JSON.parse(
    run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', destination], root),
  ) as [{ filename: string }];
  return join(destination, packed.filename);
}

/**
 * Makes `dir` a consumer project with the tarball installed by npm, offline: its dependency
 * (zod) is taken from the repository's `node_modules`, never from a registry. Only the
 * repository packages named in `borrow` are visible to it besides, each as a link, so that a
 * type the package needs from anything else fails to resolve, as at a shop without it.
 */
export function installConsumer(dir: string, tarball: string, borrow: readonly string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      private: true,
      dependencies: { zod: `file:${join(root, 'node_modules/zod')}` },
    }),
  );
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], dir);
  // After the install, which would prune them as extraneous.
  for (const name of borrow) {
    mkdirSync(join(dir, 'node_modules', name, '..'), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(dir, 'node_modules', name));
  }
}
