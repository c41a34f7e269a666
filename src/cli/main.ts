#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { parseArguments } from './arguments.js';
import { runDead, type CliOutput } from './dead.js';
import { maskSecrets, secretsOf } from './doctor-masks.js';
import { formatReport, runDoctor } from './doctor.js';
import { runStats } from './stats.js';
import { USAGE } from './usage.js';
import { packageVersion } from './version.js';
import { startWorker } from './worker.js';

function loadEnvFile(path: string): boolean {
  try {
    process.loadEnvFile(path);
    return true;
  } catch (error) {
    process.stderr.write(`Cannot read ${path}: ${(error as Error).message}\n`);
    return false;
  }
}

/**
 * stdout and stderr with every secret of the environment cut out of each line, as the
 * doctor's report is: a dead letter's reason is text from outside, and so is a Redis error.
 */
function maskedOutput(): CliOutput {
  const secrets = secretsOf(process.env);
  return {
    out: (text) => process.stdout.write(maskSecrets(text, secrets)),
    err: (text) => process.stderr.write(maskSecrets(text, secrets)),
  };
}

async function runWorkerUntilStopped(): Promise<number> {
  const stop = await startWorker(process.env);
  process.stderr.write('sovendus-express worker: delivering queued conversions\n');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
  // Stopped: a timer or socket a dependency left behind must not keep the process alive.
  process.exit(0);
}

async function main(argv: readonly string[]): Promise<number> {
  const request = parseArguments(argv);
  switch (request.command) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
      // This file is the process' main script, reached through npm's .bin symlink or directly:
      // its real path lies inside the package, in whichever build runs.
      process.stdout.write(`${packageVersion(realpathSync(process.argv[1] ?? ''))}\n`);
      return 0;
    case 'usage error':
      process.stderr.write(`${request.problem === '' ? '' : `${request.problem}\n\n`}${USAGE}`);
      return 2;
  }
  if (!request.envFiles.every(loadEnvFile)) return 2;
  if (request.command === 'worker') return runWorkerUntilStopped();
  if (request.command === 'stats') {
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return runStats(
      request,
      process.env,
      { ...maskedOutput(), isTerminal: process.stdout.isTTY },
      stopped,
    );
  }
  if (request.command !== 'doctor') return runDead(request, process.env, maskedOutput());
  const report = await runDoctor({ env: process.env, sendTest: request.sendTest });
  process.stdout.write(
    request.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report),
  );
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `sovendus-express: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
