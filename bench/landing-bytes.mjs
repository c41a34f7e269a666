// What a bot landing costs in Redis: N anonymous visitors (no cookie) each land once with a
// token of their own, through a real Express 5 + express-session shop whose sessions live in
// Redis (connect-redis) and whose tokens live in a RedisTokenStore, as the README sets it up.
// Reports bytes per landing from INFO memory (used_memory before and after) and from MEMORY
// USAGE of every key added, split into the token's key and the session's key.
//
// It needs the built package (`npm run build`). It starts a throwaway redis-server on a free
// port (nothing else writes there, so INFO memory is ours alone) and kills it at the end; without
// redis-server on the PATH it uses REDIS_URL or 127.0.0.1:6379 with key prefixes of its own,
// reports MEMORY USAGE only (INFO memory there counts other clients too) and deletes its keys.
//
//   node bench/landing-bytes.mjs            20,000 landings, tokens as the bot sent them
//   LANDINGS=50000 TOKEN_LENGTH=128 node bench/landing-bytes.mjs
//
// MAXMEMORY (e.g. 4mb) and POLICY (a maxmemory-policy, e.g. noeviction or volatile-lru) set
// them on the throwaway Redis, to see what a full Redis does: before the flood, one visitor
// lands and keeps their cookie, and another converts (against the package's fake API); after
// it, the result says whether the first one's token and the second one's "sent" record are
// still there, and how the flood's landings were answered.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import Redis from 'ioredis';
import { createSovendus, RedisTokenStore } from 'sovendus-express';
import { startFakeSovendusApi } from 'sovendus-express/testing';
import { hasRedisServer, startThrowawayRedis } from './throwaway-redis.mjs';

const LANDINGS = Number(process.env.LANDINGS ?? 20_000);
// 0: the counter itself, as the bot sent it (`?sovReqToken=<counter>`); else padded.
const TOKEN_LENGTH = Number(process.env.TOKEN_LENGTH ?? 0);
const { MAXMEMORY, POLICY } = process.env;
const CONCURRENCY = 16;
const TTL_SECONDS = 2_592_000;
const PRODUCT_ID = '9bc72425-902c-3abf-9db8-8b186d7cb160';

async function usedMemory(redis) {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

async function keysUnder(redis, prefix) {
  const keys = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** MEMORY USAGE (exact: SAMPLES 0) and key + value length, summed over the keys. */
async function usage(redis, keys) {
  let memory = 0;
  let payload = 0;
  for (let start = 0; start < keys.length; start += 500) {
    const batch = keys.slice(start, start + 500);
    const pipeline = redis.pipeline();
    for (const key of batch) {
      pipeline.memory('USAGE', key, 'SAMPLES', '0');
      pipeline.strlen(key);
    }
    const replies = await pipeline.exec();
    batch.forEach((key, index) => {
      memory += Number(replies[2 * index][1]);
      payload += key.length + Number(replies[2 * index + 1][1]);
    });
  }
  return { memory, payload };
}

function tokenFor(index) {
  const counter = String(index);
  return TOKEN_LENGTH > counter.length ? counter.padStart(TOKEN_LENGTH, 'x') : counter;
}

/** One request; answers its status, the session cookie it was given and its body. */
function send(agent, port, path, { method = 'GET', cookie } = {}) {
  return new Promise((resolve) => {
    const headers = cookie ? { cookie } : {};
    const req = request({ agent, host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        const setCookie = res.headers['set-cookie']?.[0]?.split(';')[0];
        resolve({ status: res.statusCode, cookie: setCookie, body });
      });
    });
    // A session store that fails its save makes express-session drop the connection.
    req.on('error', (error) => resolve({ status: error.code ?? 'error', body: 'null' }));
    req.end();
  });
}

const land = async (agent, port, index) =>
  (await send(agent, port, `/landing?sovReqToken=${tokenFor(index)}`)).status;

const own = hasRedisServer ? await startThrowawayRedis() : undefined;
const url = own?.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// On a Redis of our own, the prefixes a shop has by default (their length is part of each
// key's cost); on a shared one, prefixes of this run's own, so that its keys can be told apart.
const run = own ? '' : `landing-bytes:${randomUUID().slice(0, 8)}:`;
const TOKEN_PREFIX = `${run}sovendus:`;
const SESSION_PREFIX = `${run}sess:`;
const redis = new Redis(url);
// A full Redis under noeviction answers every write with an error: counted, not thrown.
redis.on('error', () => undefined);
if (own && MAXMEMORY) await redis.config('SET', 'maxmemory', MAXMEMORY);
if (own && POLICY) await redis.config('SET', 'maxmemory-policy', POLICY);
const captured = { count: 0, failed: 0 };
const api = await startFakeSovendusApi({});

const sovendus = createSovendus({
  productId: PRODUCT_ID,
  apiKey: 'ABCD-EFGHI-JKLMNO-PQR',
  apiBaseUrl: api.url,
  store: new RedisTokenStore({ client: redis, prefix: TOKEN_PREFIX }),
  ttlSeconds: TTL_SECONDS,
  // The bench counts bytes, not time: a busy machine must not turn a save into a failure.
  storeTimeoutMs: 10_000,
});
sovendus.on('captured', () => (captured.count += 1));
sovendus.on('failed', () => (captured.failed += 1));

const app = express();
app.use(
  session({
    store: new RedisStore({ client: redis, prefix: SESSION_PREFIX }),
    secret: 'landing-bytes',
    resave: false,
    saveUninitialized: false,
    // As the README asks: the session lives as long as the token.
    cookie: { maxAge: TTL_SECONDS * 1000 },
  }),
);
app.use(sovendus.capture());
app.post('/checkout', sovendus.convert(), (_req, res) => {
  res.json({ status: res.locals.sovendus?.status });
});
app.get('/token', async (req, res) => {
  res.json({ token: (await req.sovendus.getToken()) ?? null });
});
app.get('/{*path}', (_req, res) => {
  res.send('<!doctype html><title>Shop</title><p>A landing page.</p>');
});
// A session save that fails (a full Redis under noeviction) reaches Express' final handler
// after the response: it would print every one of them, but for env 'test'.
app.set('env', 'test');
const server = await new Promise((resolve) => {
  const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
});
const { port } = server.address();
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

try {
  // Before the flood: a visitor who will come back, and a conversion already sent.
  const visitor = await send(agent, port, '/landing?sovReqToken=visitor-before-the-flood');
  const buyer = await send(agent, port, '/landing?sovReqToken=buyer-before-the-flood');
  const bought = await send(agent, port, '/checkout', { method: 'POST', cookie: buyer.cookie });
  const sentRecords = await keysUnder(redis, `${TOKEN_PREFIX}claim:`);
  const before = await usedMemory(redis);
  const keysBefore = await redis.dbsize();
  let next = 0;
  const statuses = new Map();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < LANDINGS) {
        const status = await land(agent, port, (next += 1));
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const after = await usedMemory(redis);
  const keysAdded = (await redis.dbsize()) - keysBefore;
  // A connection of its own: the flood's may have been dropped by a failed session save.
  const visitorAfter = await send(false, port, '/token', { cookie: visitor.cookie });
  const sentRecordsKept = (await redis.exists(...sentRecords)) === sentRecords.length;
  const tokenKeys = await keysUnder(redis, `${TOKEN_PREFIX}token:`);
  const sessionKeys = await keysUnder(redis, SESSION_PREFIX);
  const tokens = await usage(redis, tokenKeys);
  const sessions = await usage(redis, sessionKeys);
  const sampleToken = tokenKeys[0] && (await redis.get(tokenKeys[0]));
  const sampleSession = sessionKeys[0] && (await redis.get(sessionKeys[0]));
  const perLanding = (bytes) => Math.round(bytes / LANDINGS);
  const result = {
    landings: LANDINGS,
    tokenLength: tokenFor(LANDINGS).length,
    statuses: Object.fromEntries(statuses),
    captured: captured.count,
    failed: captured.failed,
    redis: own ? 'throwaway redis-server' : url,
    maxmemory: own ? (MAXMEMORY ?? null) : null,
    policy: own ? (POLICY ?? null) : null,
    evictedKeys: Number(/evicted_keys:(\d+)/.exec(await redis.info('stats'))[1]),
    beforeTheFlood: {
      conversion: JSON.parse(bought.body).status,
      sentRecordsKept,
      visitorComesBack: visitorAfter.status,
      visitorTokenKept: visitorAfter.status === 200 && JSON.parse(visitorAfter.body).token !== null,
    },
    keysAdded: own ? keysAdded : tokenKeys.length + sessionKeys.length,
    keys: { token: tokenKeys.length, session: sessionKeys.length },
    usedMemoryPerLanding: own ? perLanding(after - before) : null,
    memoryUsagePerLanding: {
      token: perLanding(tokens.memory),
      session: perLanding(sessions.memory),
      total: perLanding(tokens.memory + sessions.memory),
    },
    keyAndValueBytesPerLanding: {
      token: perLanding(tokens.payload),
      session: perLanding(sessions.payload),
    },
    sample: {
      tokenKey: tokenKeys[0],
      tokenValue: sampleToken,
      sessionKey: sessionKeys[0],
      sessionValue: sampleSession,
    },
  };
  const bytes = result.usedMemoryPerLanding ?? result.memoryUsagePerLanding.total;
  result.millionLandingsMb = Math.round((bytes * 1_000_000) / 1024 / 1024);
  result.note = 'millionLandingsMb: the per-landing bytes times 1,000,000 (linear extrapolation)';
  console.log(JSON.stringify(result, null, 2));
} finally {
  agent.destroy();
  server.close();
  await sovendus.close();
  await api.close();
  if (own) {
    redis.disconnect();
    own.child.kill('SIGKILL');
  } else {
    for (const prefix of [TOKEN_PREFIX, SESSION_PREFIX]) {
      const keys = await keysUnder(redis, prefix);
      for (let start = 0; start < keys.length; start += 1000) {
        await redis.del(...keys.slice(start, start + 1000));
      }
    }
    redis.disconnect();
  }
}
