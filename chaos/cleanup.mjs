// Everything the run starts (shop processes, redis-servers, temporary directories) is
// registered here, so that it is killed and removed however the run ends: normally, by an
// exception, or by Ctrl-C. Only what this run started is ever killed, by its own handle.
import { rmSync } from 'node:fs';

const children = new Set();
const directories = new Set();

/** Kills `child` with SIGKILL if the run ends while it still lives. */
export function trackChild(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Removes `directory` when the run ends, unless `removeDirectory` did already. */
export function trackDirectory(directory) {
  directories.add(directory);
  return directory;
}

export function removeDirectory(directory) {
  directories.delete(directory);
  rmSync(directory, { recursive: true, force: true });
}

/** Synchronous on purpose: it also runs in the process' `exit` handler. */
function cleanUpNow() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  directories.clear();
}

process.on('exit', cleanUpNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    cleanUpNow();
    process.exit(130);
  });
}
