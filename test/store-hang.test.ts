import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as idle } from 'node:timers/promises';
import express from 'express';
import session from 'express-session';
import Redis from 'ioredis';
import { BullMQDeliveryQueue } from '../src/bullmq.js';
import {
  createSovendus,
  RedisTokenStore,
  type ConversionResult,
  type Sovendus,
  type SovendusEvents,
  type SovendusOptions,
} from '../src/index.js';
import { createLog } from '../src/logging.js';
import { createStoreBreaker } from '../src/stores/store-breaker.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { connectTestRedis, keysUnder, testRedisUrl } from './support/redis.js';
import { hasRedisServer, startRedisServer, type RedisServer } from './support/redis-server.js';
import { API_KEY, PRODUCT_ID, describeResult, freshTestToken } from './support/shop.js';

/**
 * Issue 12, "while Redis hangs, commands pile up without bound": every request was answered in
 * time, but ioredis held every command sent to the hung Redis. These tests hang a Redis of
 * their own (SIGSTOP: the kernel still takes what the client writes, the server answers
 * nothing) and count what the client holds for it, never how long anything took.
 */

let server: RedisServer;
let client: Redis;
let api: FakeSovendusApi;
const opened: { sovendus: Sovendus; http: Server }[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
});
afterAll(async () => {
  await api.close();
  await server.kill();
});

beforeEach(async () => {
  api.reset();
  client = new Redis(server.url);
  await client.ping();
});
afterEach(async () => {
  // Answers whatever is still waiting, so that nothing outlives the test.
  process.kill(server.pid, 'SIGCONT');
  await Promise.all(
    opened.splice(0).map(async ({ sovendus, http }) => {
      await new Promise((resolve) => http.close(resolve));
      await sovendus.close();
    }),
  );
  await client.flushall();
  client.disconnect();
});

/** Commands the client wrote to Redis and holds until it answers. */
const commandsHeld = () => client.commandQueue.length;

/** The tokens of every session in the store. */
async function tokensStored(): Promise<string[]> {
  const keys = await keysUnder(client, 'sovendus:token:');
  const values = keys.length === 0 ? [] : await client.mget(...keys);
  // Stored as [token, productId, capturedAt].
  return values.map((value) => (JSON.parse(value ?? '[""]') as string[])[0] ?? '');
}

const isCoolingDown = (message: string) => message.includes('cooling down');

/** Waits (idly, without a deadline of its own: jest's is the bound) until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await idle(5);
}

/**
 * A shop whose sessions live in memory (`sessions`, which shops may share), so that only the
 * token store talks to the Redis that hangs.
 */
async function shopOn(
  options: Partial<SovendusOptions>,
  sessions: session.Store = new session.MemoryStore(),
) {
  const sovendus = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    apiBaseUrl: api.url,
    store: new RedisTokenStore({ client }),
    // Short on purpose: the hang is what makes every call miss it, on any machine.
    storeTimeoutMs: 20,
    ...options,
  });
  const failures: string[] = [];
  sovendus.on('failed', (event: SovendusEvents['failed']) => failures.push(event.error.message));
  const app = express();
  app.use(
    session({ secret: 'test secret', resave: false, saveUninitialized: false, store: sessions }),
  );
  app.use(sovendus.capture());
  app.post('/checkout', sovendus.convert(), (_req, res) => {
    res.json(describeResult(res.locals.sovendus));
  });
  app.get('/{*path}', (_req, res) => {
    res.send('shop page');
  });
  const http = createServer(app);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  opened.push({ sovendus, http });
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const land = async (token = freshTestToken()) => {
    const response = await fetch(`${url}/landing?sovReqToken=${token}`);
    const cookie = response.headers.get('set-cookie')?.split(';')[0];
    return { status: response.status, body: await response.text(), cookie };
  };
  const checkout = async (cookie: string | undefined) => {
    const response = await fetch(`${url}/checkout`, {
      method: 'POST',
      headers: cookie === undefined ? {} : { cookie },
    });
    return (await response.json()) as ConversionResult & {
      error?: { code: string; message: string };
    };
  };
  /** Bots land, one at a time, until one is refused without a store call. */
  const tripBreaker = async () => {
    process.kill(server.pid, 'SIGSTOP');
    while (!failures.some(isCoolingDown)) await land();
  };
  return { sovendus, land, checkout, tripBreaker, failures };
}

(hasRedisServer ? describe : describe.skip)('a Redis that hangs', () => {
  it('stops sending store calls after repeated timeouts: landings are served, commands stop growing', async () => {
    const shop = await shopOn({ storeBreaker: { timeouts: 3, coolDownMs: 600_000 } });
    process.kill(server.pid, 'SIGSTOP');

    // One at a time, until a landing is refused without a call instead of timing out.
    let landed = 0;
    while (!shop.failures.some(isCoolingDown) && landed < 20) {
      expect(await shop.land()).toMatchObject({ status: 200, body: 'shop page' });
      landed += 1;
    }
    const held = commandsHeld();
    for (let more = 0; more < 50; more += 1) {
      expect(await shop.land()).toMatchObject({ status: 200, body: 'shop page' });
    }

    expect(commandsHeld()).toBe(held);
    expect(held).toBeLessThanOrEqual(3);
    expect(shop.failures.filter(isCoolingDown)).toHaveLength(51);
  });

  it('never holds more than maxPendingCalls, however many landings arrive at once', async () => {
    const shop = await shopOn({ storeBreaker: { timeouts: 1_000, maxPendingCalls: 10 } });
    process.kill(server.pid, 'SIGSTOP');

    const landings = await Promise.all(Array.from({ length: 100 }, () => shop.land()));

    expect(landings.every(({ status, body }) => status === 200 && body === 'shop page')).toBe(true);
    expect(commandsHeld()).toBeLessThanOrEqual(10);
  });
});

(hasRedisServer ? describe : describe.skip)('the breaker on a Redis that hangs', () => {
  const entry = { token: 'token-a', productId: PRODUCT_ID, capturedAt: 1 };

  it('refuses new calls while open, lets settling calls through, then probes once and closes', async () => {
    let clock = 0;
    const breaker = createStoreBreaker(new RedisTokenStore({ client }), {
      // Generous: the probe at the end must answer in time on a busy machine.
      timeoutMs: 1_000,
      timeouts: 2,
      coolDownMs: 60_000,
      maxPendingCalls: 100,
      log: createLog(undefined),
      now: () => clock,
    });
    const { store } = breaker;
    await store.saveToken('a', entry, 600);
    process.kill(server.pid, 'SIGSTOP');

    const missed = [store.getToken('a'), store.getToken('a')];
    await until(() => breaker.state() === 'open');
    expect(commandsHeld()).toBe(2);
    await expect(store.saveToken('b', entry, 600)).rejects.toThrow('cooling down');
    await expect(store.acquireClaims(['c'], 'me', { endsAt: 1, keepSeconds: 60 })).rejects.toThrow(
      'cooling down',
    );
    expect(commandsHeld()).toBe(2); // refused calls were never sent: they took nothing
    // Settling what was sent before goes out even now: a record refused could mean a resend.
    const settling = [store.completeClaims(['d'], 60), store.releaseClaims(['e'], 'me')];
    expect(commandsHeld()).toBe(4);

    clock += 60_000;
    const probe = store.getToken('a');
    expect(breaker.state()).toBe('probing');
    await expect(store.getToken('a')).rejects.toThrow('cooling down'); // one probe at a time
    expect(commandsHeld()).toBe(5);
    await until(() => breaker.state() === 'open'); // the probe missed too

    process.kill(server.pid, 'SIGCONT');
    expect(await Promise.all([...missed, probe])).toEqual([entry, entry, entry]);
    await Promise.all(settling);
    expect(breaker.pendingCalls()).toBe(0);
    while (breaker.state() !== 'closed') {
      clock += 60_000;
      await store.getToken('a').catch(() => undefined);
    }
    expect(await store.getToken('a')).toEqual(entry);
    await store.saveToken('b', entry, 600);
    expect(await client.exists('sovendus:token:b')).toBe(1);
  });
});

(hasRedisServer ? describe : describe.skip)('a checkout while the breaker is open', () => {
  it('fails as a store failure does, takes nothing, and the conversion is sent once later', async () => {
    const sessions = new session.MemoryStore();
    const options = { storeTimeoutMs: 1_000, storeBreaker: { timeouts: 1, coolDownMs: 600_000 } };
    const cooling = await shopOn(options, sessions);
    const healthy = await shopOn(options, sessions);
    const token = freshTestToken();
    const visitor = await cooling.land(token);
    expect(await tokensStored()).toContain(token);

    await cooling.tripBreaker();
    process.kill(server.pid, 'SIGCONT');
    await until(() => commandsHeld() === 0);

    const refused = await cooling.checkout(visitor.cookie);
    expect(refused).toMatchObject({ status: 'failed', error: { code: 'STORE_UNAVAILABLE' } });
    expect(refused.error?.message).toContain('cooling down');
    expect(api.calls).toHaveLength(0);
    expect(await keysUnder(client, 'sovendus:claim:')).toEqual([]);
    expect(await tokensStored()).toContain(token);

    expect(await healthy.checkout(visitor.cookie)).toMatchObject({ status: 'sent', token });
    expect(await healthy.checkout(visitor.cookie)).toMatchObject({ status: 'no_token' });
    expect(api.conversions.map((call) => call.token)).toEqual([token]);
  });

  it('with a queue: the checkout leaves its follow-up, and another worker sends it once', async () => {
    const queueRedis = connectTestRedis();
    const { hostname, port } = new URL(testRedisUrl());
    const queue = (worker: boolean) => ({
      queue: new BullMQDeliveryQueue({
        connection: { host: hostname, port: Number(port) },
        name: 'store-hang',
        prefix: `${queueRedis.prefix}bull`,
        firstRetryDelayMs: 20,
      }),
      worker,
    });
    try {
      const sessions = new session.MemoryStore();
      const options = {
        storeTimeoutMs: 1_000,
        // A short lease, so that the follow-up (delayed by one lease) comes soon.
        timeoutMs: 1_000,
        sendLimitMs: 1_000,
        storeBreaker: { timeouts: 1, coolDownMs: 600_000 },
      };
      const cooling = await shopOn({ ...options, ...queue(false) }, sessions);
      const healthy = await shopOn({ ...options, ...queue(true) }, sessions);
      const sent = new Promise<SovendusEvents['sent']>((resolve) => {
        healthy.sovendus.on('sent', resolve);
      });
      const token = freshTestToken();
      const visitor = await cooling.land(token);

      await cooling.tripBreaker();
      process.kill(server.pid, 'SIGCONT');
      await until(() => commandsHeld() === 0);

      const refused = await cooling.checkout(visitor.cookie);
      expect(refused).toMatchObject({ status: 'failed', error: { code: 'STORE_UNAVAILABLE' } });
      expect(await sent).toMatchObject({ token });
      await healthy.sovendus.close();
      await cooling.sovendus.close();
      expect(api.conversions.map((call) => call.token)).toEqual([token]);
      expect(await healthy.checkout(visitor.cookie)).toMatchObject({ status: 'no_token' });
    } finally {
      await queueRedis.close();
    }
  }, 60_000);
});
