import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository: its `package.json` and built `dist/` are what a shop installs. */
export const repositoryRoot = resolve(__dirname, '../..');

/**
 * The compiler options of a strict TypeScript shop that checks its dependencies' types too
 * (`skipLibCheck: false`); a test adds `module` and `moduleResolution`.
 */
export const STRICT_SHOP_COMPILER_OPTIONS = {
  target: 'es2022',
  strict: true,
  // What the strictest shops add (@tsconfig/strictest): the docs' code must compile there too.
  exactOptionalPropertyTypes: true,
  noUnusedParameters: true,
  noEmit: true,
  skipLibCheck: false,
  // TypeScript's own lib files are checked where TypeScript is released, and no setting of a
  // shop's changes them; checking them again costs half of each compile.
  skipDefaultLibCheck: true,
  esModuleInterop: true,
  types: ['node'],
} as const;

/** A throwaway project outside the repository that depends on the package as a shop does. */
export interface ConsumerProject {
  dir: string;
  remove(): void;
}

/**
 * Makes a project whose `node_modules` holds the package (a symlink to the repository, so it
 * resolves through the `exports` map to the build) and the given packages of the repository's
 * own `node_modules`, such as the peers a shop installs.
 */
export function createConsumerProject(packages: readonly string[]): ConsumerProject {
  const dir = mkdtempSync(join(tmpdir(), 'sovendus-consumer-'));
  mkdirSync(join(dir, 'node_modules'));
  for (const name of packages) {
    symlinkSync(join(repositoryRoot, 'node_modules', name), join(dir, 'node_modules', name));
  }
  symlinkSync(repositoryRoot, join(dir, 'node_modules', 'sovendus-express'));
  return {
    dir,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
