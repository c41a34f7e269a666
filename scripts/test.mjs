// `npm test`: the type check and the lint side by side with the build and the Jest suite, then
// the soak on its own. On two cores this is about a minute shorter than one after the other:
// the Jest suite waits for Redis, leases and child processes much of the time, and the
// checks use the CPU it leaves. The soak runs alone because a machine busy with other work can
// starve its sends past their retry window.
//
//   node scripts/test.mjs
//
// The Jest suite streams its output; each other step prints its output when it ends. Every
// step runs to its end, so that one failure does not hide another; the soak runs only when
// all of them passed. Exits 1 when any step failed.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/** Steps that run side by side; the npm scripts within one run one after the other. */
const SIDE_BY_SIDE = [['typecheck'], ['lint'], ['build', 'test:suite']];
/** The npm script whose output is streamed as it comes, rather than when it ends. */
const STREAMED = 'test:suite';

const seconds = (since) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** Runs one npm script; answers whether it passed. */
function runScript(name) {
  const started = performance.now();
  const streamed = name === STREAMED;
  const child = spawn('npm', ['run', '--silent', name], {
    stdio: streamed ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    // npm is a .cmd file on Windows, which only a shell runs.
    shell: process.platform === 'win32',
  });
  const output = [];
  child.stdout?.on('data', (chunk) => output.push(chunk));
  child.stderr?.on('data', (chunk) => output.push(chunk));
  return new Promise((resolve) => {
    child.on('close', (code) => {
      const passed = code === 0;
      process.stdout.write(`\n── ${name}: ${passed ? 'passed' : 'FAILED'} (${seconds(started)})\n`);
      if (output.length > 0) process.stdout.write(Buffer.concat(output));
      resolve(passed);
    });
  });
}

/** Runs the scripts one after the other, up to the first that fails. */
async function runInOrder(names) {
  for (const name of names) {
    if (!(await runScript(name))) return false;
  }
  return true;
}

const started = performance.now();
const results = await Promise.all(SIDE_BY_SIDE.map(runInOrder));
const passed = results.every(Boolean) && (await runScript('test:soak'));
process.stdout.write(`\n── npm test: ${passed ? 'passed' : 'FAILED'} (${seconds(started)})\n`);
process.exitCode = passed ? 0 : 1;
