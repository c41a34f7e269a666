import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import Redis from 'ioredis';

/**
 * Finds the Redis the tests use: REDIS_URL, else 127.0.0.1:6379; when neither answers and
 * `redis-server` is on the PATH, starts a throwaway one (stopped in global-teardown).
 * Tests get the address as SOVENDUS_TEST_REDIS_URL and only touch keys under their own prefix.
 */
async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export default async function globalSetup(): Promise<void> {
  const candidate = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await answers(candidate)) {
    process.env.SOVENDUS_TEST_REDIS_URL = candidate;
    return;
  }
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(
      `No Redis answers at ${candidate} and redis-server is not on the PATH. Start one ` +
        '(e.g. `redis-server --daemonize yes --port 6379 --save ""`), install it ' +
        '(`apt-get install redis-server`), or set REDIS_URL.',
    );
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore', detached: false },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let tries = 0; tries < 50 && !(await answers(url)); tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.env.SOVENDUS_TEST_REDIS_URL = url;
  process.env.SOVENDUS_TEST_REDIS_PID = String(child.pid);
}
