// Checks the package as npm would publish it, offline: attw (are the types wrong?) under all
// four resolutions (node10, node16 from CommonJS and from ESM, bundler), and publint, which
// must have nothing to say, not even a suggestion.
//
//   node scripts/check-package.mjs [tarball]
//
// Without a tarball it packs one first (`npm pack` runs `prepare`, which builds), so that what
// is checked is exactly what would be published. Exits 1 when either finds anything.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = fileURLToPath(new URL('..', import.meta.url));

function packed() {
  const folder = mkdtempSync(join(tmpdir(), 'sovendus-pack-'));
  // Not `--json`: the build's own output goes to stdout too. The name is npm's, from ours.
  execFileSync('npm', ['pack', '--pack-destination', folder], { cwd: root, stdio: 'inherit' });
  const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return { tarball: join(folder, `${name}-${version}.tgz`), folder };
}

const given = process.argv[2];
const { tarball, folder } = given === undefined ? packed() : { tarball: resolve(given) };
try {
  try {
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'), tarball],
      {
        stdio: 'inherit',
      },
    );
  } catch {
    process.exitCode = 1; // attw printed what it found
  }
  const bytes = readFileSync(tarball);
  const { messages, pkg } = await publint({
    pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) },
    level: 'suggestion',
    strict: true,
  });
  for (const message of messages) console.log(`publint: ${formatMessage(message, pkg)}`);
  if (messages.length > 0) process.exitCode = 1;
  else console.log('publint: nothing to report');
} finally {
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
}
