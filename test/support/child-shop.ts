import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export interface RunningShop {
  /** The landing URL the shop printed. */
  url: URL;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM to `npm start`, as a process manager stops it; resolves when npm has exited. */
  stop(): Promise<void>;
}

/** Runs `npm start`, as a newcomer would, and waits for the URL it prints. */
export async function startExampleShop(env: Record<string, string>): Promise<RunningShop> {
  const inherited = Object.entries(process.env).filter(
    ([name]) => !name.startsWith('SOVENDUS_') && name !== 'REDIS_URL',
  );
  const child: ChildProcess = spawn('npm', ['start'], {
    cwd: resolve(__dirname, '../..'),
    env: { ...Object.fromEntries(inherited), PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const url = await new Promise<URL>((found, failed) => {
    child.stdout?.on('data', () => {
      const match = /Open (http:\/\/\S+) and buy/.exec(output);
      if (match?.[1]) found(new URL(match[1]));
    });
    void exited.then((code) => {
      failed(new Error(`the example shop exited (${code}): ${output}`));
    });
  });
  return {
    url,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
