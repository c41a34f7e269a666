// What a hung Redis costs the shop: a throwaway redis-server is stopped (SIGSTOP: it takes
// connections and data, and answers nothing), then N landings with tokens arrive, 64 at a time,
// at a real Express 5 + express-session shop whose token store is on it. Reports how every
// landing was answered, how many commands ioredis holds for the hung Redis, and how much the
// heap grew (after a GC), then lets Redis go on and waits until it has answered them all.
// Needs the built package (`npm run build`) and redis-server; run with --expose-gc:
//
//   node --expose-gc bench/store-hang.mjs            20,000 landings
//   LANDINGS=100000 node --expose-gc bench/store-hang.mjs
import { Agent, request } from 'node:http';
import express from 'express';
import session from 'express-session';
import Redis from 'ioredis';
import { createSovendus, RedisTokenStore } from 'sovendus-express';
import { startThrowawayRedis } from './throwaway-redis.mjs';

const LANDINGS = Number(process.env.LANDINGS ?? 20_000);
const CONCURRENCY = 64;

const { url, child: redisServer } = await startThrowawayRedis();
const redis = new Redis(url);
await redis.ping();

const failures = new Map();
const sovendus = createSovendus({
  productId: '9bc72425-902c-3abf-9db8-8b186d7cb160',
  apiKey: 'ABCD-EFGHI-JKLMNO-PQR',
  store: new RedisTokenStore({ client: redis }),
});
sovendus.on('failed', ({ error }) => {
  const reason = error.message.includes('cooling down')
    ? 'refused: cooling down'
    : error.message.includes('maxPendingCalls')
      ? 'refused: maxPendingCalls'
      : error.message.includes('no answer within')
        ? 'timed out'
        : 'other';
  failures.set(reason, (failures.get(reason) ?? 0) + 1);
});
const app = express();
// Sessions in memory: only the token store talks to the hung Redis.
app.use(session({ secret: 'store-hang', resave: false, saveUninitialized: false }));
app.use(sovendus.capture());
app.get('/{*path}', (_req, res) => {
  res.send('<!doctype html><title>Shop</title><p>A landing page.</p>');
});
const server = await new Promise((resolve) => {
  const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
});
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const land = (index) =>
  new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port: server.address().port,
        path: `/landing?sovReqToken=hang-${index}`,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve('error'));
    req.end();
  });

globalThis.gc();
const heapBefore = process.memoryUsage().heapUsed;
redisServer.kill('SIGSTOP');
const statuses = new Map();
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < LANDINGS) {
      const status = await land((next += 1));
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  }),
);
globalThis.gc();
const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
const held = redis.commandQueue.length;
redisServer.kill('SIGCONT');
while (redis.commandQueue.length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
console.log(
  JSON.stringify(
    {
      landings: LANDINGS,
      statuses: Object.fromEntries(statuses),
      failures: Object.fromEntries(failures),
      commandsHeldWhileHung: held,
      heapGrowthMb: Math.round(heapGrowthMb * 10) / 10,
    },
    null,
    2,
  ),
);
agent.destroy();
server.close();
await sovendus.close();
redis.disconnect();
redisServer.kill('SIGKILL');
