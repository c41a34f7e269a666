// A redis-server of a bench's own on a free loopback port, never the shared one on 6379, that
// keeps nothing on disk (so that INFO memory counts only the data) and is killed however the
// bench ends (chaos/cleanup.mjs).
import { spawn, spawnSync } from 'node:child_process';
import { trackChild } from '../chaos/cleanup.mjs';
import { freePort, waitUntilAnswering } from '../chaos/redis-server.mjs';

export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

/** Resolves once it answers, with its URL and process (SIGSTOP it to hang it). */
export async function startThrowawayRedis() {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = trackChild(spawn('redis-server', args, { stdio: 'ignore' }));
  const url = `redis://127.0.0.1:${port}`;
  await waitUntilAnswering(url, child);
  return { url, child };
}
