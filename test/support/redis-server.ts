import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';

/** Throwaway `redis-server`s for tests that must own (or kill) their Redis. */

export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;
export const hasRedisCli = spawnSync('redis-cli', ['--version']).status === 0;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address) resolve(address.port);
        else reject(new Error('no free port'));
      });
    });
  });
}

export async function redisAnswers(url: string): Promise<boolean> {
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

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  /** SIGKILL, as a crash would; resolves when the process is gone. */
  kill(): Promise<void>;
}

/** Starts a redis-server that keeps nothing on disk, and waits until it answers. */
export async function startRedisServer(
  port?: number,
  extraArgs: readonly string[] = [],
): Promise<RedisServer> {
  const chosen = port ?? (await freePort());
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(chosen),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      ...extraArgs,
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${chosen}`;
  for (let tries = 0; !(await redisAnswers(url)); tries += 1) {
    if (tries === 50 || child.exitCode !== null)
      throw new Error(`redis-server did not start on ${chosen}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    port: chosen,
    pid: child.pid ?? 0,
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGKILL');
      }),
  };
}

export interface RedisCluster {
  nodes: { host: string; port: number }[];
  kill(): Promise<void>;
}

/** Three masters on loopback, joined by `redis-cli --cluster create`, every slot covered. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const directory = mkdtempSync(join(tmpdir(), 'sovendus-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const servers = await Promise.all(
    ports.map((port) =>
      startRedisServer(port, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(directory, `nodes-${port}.conf`),
        '--dir',
        directory,
      ]),
    ),
  );
  const created = spawnSync(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { encoding: 'utf8' },
  );
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stderr}`);
  for (let tries = 0; ; tries += 1) {
    const info = spawnSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], {
      encoding: 'utf8',
    });
    if (info.stdout.includes('cluster_state:ok')) break;
    if (tries === 100) throw new Error('the cluster did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    async kill() {
      await Promise.all(servers.map((server) => server.kill()));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
