import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const NAME = 'sovendus-express';

function readManifest(path: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    // No package.json here, or not one to read: look further up.
    return undefined;
  }
}

/**
 * The version of the package that holds `file`, from the first package.json above it that
 * bears the package's name. Not simply the nearest one: dist/cjs and dist/esm each hold a
 * package.json of their own, with only a "type".
 */
export function packageVersion(file: string): string {
  for (let folder = dirname(file); ; folder = dirname(folder)) {
    const manifest = readManifest(join(folder, 'package.json'));
    if (manifest?.name === NAME && typeof manifest.version === 'string') return manifest.version;
    if (dirname(folder) === folder) throw new Error(`no package.json of ${NAME} above ${file}`);
  }
}
