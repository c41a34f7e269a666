// A throwaway redis-server per scenario, on a free loopback port, never the shared one on 6379.
// It keeps an append-only file (synced every second, as many production Redis do) in its own
// temporary directory, so that a SIGKILL and a restart on the same port and directory bring
// back what was synced, and lose up to the last second, as a real crash would.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { removeDirectory, trackChild, trackDirectory } from './cleanup.mjs';
import { sleep } from './random.mjs';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether a Redis answers PING at `url` within a second. */
async function answers(url) {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function spawnServer(port, directory) {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--dir',
    directory,
    // Redis 7 refuses DEBUG unless allowed; the `redis stall` scenario needs DEBUG SLEEP.
    '--enable-debug-command',
    'local',
  ];
  return trackChild(spawn('redis-server', args, { stdio: 'ignore' }));
}

export async function waitUntilAnswering(url, child) {
  for (let tries = 0; !(await answers(url)); tries += 1) {
    if (tries >= 100 || child.exitCode !== null) {
      throw new Error(`redis-server at ${url} did not start (exit code ${child.exitCode})`);
    }
    await sleep(50);
  }
}

/**
 * Starts a fresh redis-server. The handle can SIGKILL and restart it (same port, same
 * directory), stall it, and finally remove it with its directory.
 */
export async function startRedis() {
  const port = await freePort();
  const directory = trackDirectory(mkdtempSync(join(tmpdir(), 'sovendus-chaos-redis-')));
  const url = `redis://127.0.0.1:${port}`;
  let child = spawnServer(port, directory);
  await waitUntilAnswering(url, child);

  const killNow = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  return {
    url,
    port,
    /** A crash: SIGKILL, down for `downMs`, then a new redis-server on the same port and dir. */
    async crashAndRestart(downMs) {
      await killNow();
      await sleep(downMs);
      child = spawnServer(port, directory);
      await waitUntilAnswering(url, child);
    },
    /**
     * Blocks Redis for `seconds` with DEBUG SLEEP, sent from a connection of its own: every
     * client stays connected and simply gets no answer meanwhile.
     */
    async stall(seconds) {
      const client = new Redis(url, { maxRetriesPerRequest: 0, commandTimeout: 10_000 });
      client.on('error', () => undefined);
      try {
        await client.call('DEBUG', 'SLEEP', String(seconds));
      } finally {
        client.disconnect();
      }
    },
    async remove() {
      await killNow();
      removeDirectory(directory);
    },
  };
}
