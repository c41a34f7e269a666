#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { parseArguments } from './arguments.js';
import { formatReport, runDoctor } from './doctor.js';
import { packageVersion } from './version.js';
import { startWorker } from './worker.js';

const USAGE = `Usage: sovendus-express doctor [--send-test] [--json] [--dotenv=PATH]
       sovendus-express worker [--dotenv=PATH]
       sovendus-express --version

Checks the Sovendus settings in the environment (SOVENDUS_PRODUCT_ID, SOVENDUS_API_KEY,
SOVENDUS_API_BASE_URL, REDIS_URL, ...): validates them, prints them with the API key masked,
checks that Redis answers and that the API host resolves.

  --send-test       also send a conversion with the test token 12345-test-123-12345
  --json            print the report as JSON
  --dotenv=PATH     read variables from a .env file first (variables already set win);
                    --dotenv PATH works too. It was --env-file=PATH, which Node 20 reads
                    itself and stops at when the file is missing
  -v, --version     print the version of sovendus-express

Exit code: 0 when every check passes, 1 when one fails, 2 for a usage error.

worker delivers conversions queued by shops that run with worker: false (BullMQ, REDIS_URL),
until SIGINT or SIGTERM.
`;

function loadEnvFile(path: string): boolean {
  try {
    process.loadEnvFile(path);
    return true;
  } catch (error) {
    process.stderr.write(`Cannot read ${path}: ${(error as Error).message}\n`);
    return false;
  }
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
