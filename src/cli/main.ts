#!/usr/bin/env node
import { formatReport, runDoctor } from './doctor.js';
import { startWorker } from './worker.js';

const USAGE = `Usage: sovendus-express doctor [--send-test] [--json] [--env-file=PATH]
       sovendus-express worker [--env-file=PATH]

Checks the Sovendus settings in the environment (SOVENDUS_PRODUCT_ID, SOVENDUS_API_KEY,
SOVENDUS_API_BASE_URL, REDIS_URL, ...): validates them, prints them with the API key masked,
checks that Redis answers and that the API host resolves.

  --send-test       also send a conversion with the test token 12345-test-123-12345
  --json            print the report as JSON
  --env-file=PATH   read variables from a .env file first

Exit code: 0 when every check passes, 1 when one fails, 2 for a usage error.

worker delivers conversions queued by shops that run with worker: false (BullMQ, REDIS_URL),
until SIGINT or SIGTERM.
`;

function loadEnvFile(flag: string): boolean {
  const path = flag.slice('--env-file='.length);
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
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...flags] = argv;
  if (command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === 'worker') {
    for (const flag of flags) {
      if (!flag.startsWith('--env-file=')) {
        process.stderr.write(`Unknown option ${flag}\n\n${USAGE}`);
        return 2;
      }
      if (!loadEnvFile(flag)) return 2;
    }
    return runWorkerUntilStopped();
  }
  if (command !== 'doctor') {
    process.stderr.write(USAGE);
    return 2;
  }
  let sendTest = false;
  let json = false;
  for (const flag of flags) {
    if (flag === '--send-test') sendTest = true;
    else if (flag === '--json') json = true;
    else if (flag.startsWith('--env-file=')) {
      if (!loadEnvFile(flag)) return 2;
    } else {
      process.stderr.write(`Unknown option ${flag}\n\n${USAGE}`);
      return 2;
    }
  }
  const report = await runDoctor({ env: process.env, sendTest });
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
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
