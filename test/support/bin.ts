import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The built `sovendus-express` bin (npm test builds before jest), run as a user would. */
export const BIN = resolve(__dirname, '../../dist/cjs/cli/main.js');

/** What a run of the bin came to. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command line that runs the bin: the program, and the arguments before the bin's own. */
export type Runner = [program: string, ...leading: string[]];

export const byNode: Runner = [process.execPath, BIN];

/**
 * The bin as npm installs it: a symlink in node_modules/.bin, which the system runs with the
 * interpreter its first line names (`#!/usr/bin/env node`). Run that way here, as the kernel
 * would, so that the test does not depend on the execute bit (the build's concern).
 */
export function byShim(folder: string): Runner {
  const shim = join(folder, 'node_modules/.bin/sovendus-express');
  mkdirSync(join(folder, 'node_modules/.bin'), { recursive: true });
  symlinkSync(BIN, shim);
  const [shebang = ''] = readFileSync(BIN, 'utf8').split('\n');
  const [program = '', ...interpreterArgs] = shebang.replace(/^#!/, '').trim().split(/\s+/);
  return [program, ...interpreterArgs, shim];
}

/** Runs the bin to its end with `env` and none of the runner's own Sovendus settings. */
export function runBin(args: string[], env: Record<string, string>, runner = byNode): Promise<Run> {
  const inherited = Object.entries(process.env).filter(
    ([name]) => !name.startsWith('SOVENDUS_') && name !== 'REDIS_URL',
  );
  const [program, ...leading] = runner;
  return new Promise((done) => {
    execFile(
      program,
      [...leading, ...args],
      { env: { ...Object.fromEntries(inherited), ...env } },
      (error, stdout, stderr) => {
        done({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}
