import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { BullMQDeliveryQueue } from '../src/bullmq.js';
import { createSovendus, RedisTokenStore, type SovendusOptions } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { hasRedisServer, startRedisServer, type RedisServer } from './support/redis-server.js';
import { alteredEchoes, expectNoKeyPiece } from './support/key-echoes.js';
import { API_KEY, freshTestToken, PRODUCT_ID } from './support/shop.js';
import { waitFor } from './support/wait-for.js';

/** Every value in a Redis of the test's own, as text: what a person with access could read. */
async function everythingIn(client: Redis): Promise<string> {
  const [, keys] = await client.scan('0', 'COUNT', 100_000);
  const values = await Promise.all(
    keys.map(async (key) => {
      const type = await client.type(key);
      if (type === 'hash') return client.hgetall(key);
      if (type === 'list') return client.lrange(key, 0, -1);
      if (type === 'set') return client.smembers(key);
      if (type === 'zset') return client.zrange(key, 0, -1);
      if (type === 'stream') return client.xrange(key, '-', '+');
      return client.get(key);
    }),
  );
  return JSON.stringify(Object.fromEntries(keys.map((key, index) => [key, values[index]])));
}

/** The built CLI, run as a user would, with the shop's settings and REDIS_URL. */
/** Worker processes still running: stopped after each test, however it ended. */
const running = new Set<() => Promise<number | null>>();

function startWorkerProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, [resolve(__dirname, '../dist/cjs/cli/main.js'), 'worker'], {
    env: {
      PATH: process.env.PATH,
      SOVENDUS_PRODUCT_ID: PRODUCT_ID,
      SOVENDUS_API_KEY: API_KEY,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const printed = { text: '' };
  const read = (chunk: Buffer) => {
    printed.text += chunk.toString('utf8');
  };
  child.stdout.on('data', read);
  child.stderr.on('data', read);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  /** SIGTERM, as an orchestrator stops it; resolves to its exit code. */
  const stop = () => {
    running.delete(stop);
    child.kill('SIGTERM');
    return exited;
  };
  running.add(stop);
  return {
    /** Everything it wrote so far, stdout and stderr. */
    printed: () => printed.text,
    stop,
  };
}

// The worker uses the queue's default keys, so it gets a Redis of its own.
(hasRedisServer ? describe : describe.skip)('sovendus-express worker', () => {
  let redisServer: RedisServer;
  let api: FakeSovendusApi;
  beforeAll(async () => {
    redisServer = await startRedisServer();
    api = await startFakeSovendusApi({ apiKey: API_KEY });
  });
  afterAll(async () => {
    await api.close();
    await redisServer.kill();
  });
  beforeEach(() => {
    api.reset();
  });
  afterEach(async () => {
    await Promise.all([...running].map((stop) => stop()));
  });

  /** A shop that queues what fails and leaves the delivering to the worker process. */
  function shopWithoutWorker(options: Partial<SovendusOptions> = {}) {
    const client = new Redis(redisServer.url);
    const queueConnection = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    const shop = createSovendus({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      apiBaseUrl: api.url,
      store: new RedisTokenStore({ client }),
      queue: new BullMQDeliveryQueue({ connection: queueConnection, firstRetryDelayMs: 50 }),
      worker: false,
      retry: { attempts: 1 },
      ...options,
    });
    return {
      shop,
      close: async () => {
        await shop.close();
        await Promise.all([client.quit(), queueConnection.quit()]);
      },
    };
  }

  it('delivers the conversions and redemptions a shop without a worker queued, and stops cleanly on SIGTERM', async () => {
    const { shop, close } = shopWithoutWorker({
      coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
    });
    const token = freshTestToken();
    api.failNext(1, { status: 503 });
    expect((await shop.sendConversion({ token })).status).toBe('queued');
    api.failNext(1, { status: 500 });
    const redemption = { couponCode: 'WORKER-1', orderId: 'worker-order', email: 'a@b.example' };
    expect((await shop.redeemCoupon(redemption)).status).toBe('queued');
    await close();

    const worker = startWorkerProcess({
      SOVENDUS_API_BASE_URL: api.url,
      SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER: '1234',
      SOVENDUS_COUPON_API_BASE_URL: api.url,
      REDIS_URL: redisServer.url,
    });
    await waitFor(() => api.conversions.length + api.redemptions.length === 2, 'both deliveries', {
      timeoutMs: 50_000,
      detail: worker.printed,
    });
    expect(api.conversions.map((call) => call.token)).toEqual([token]);
    expect(api.redemptions.map((call) => call.redemption?.coupon_code)).toEqual(['WORKER-1']);
    expect(await worker.stop()).toBe(0);
    expect(worker.printed()).toContain('conversion sent');
    expect(worker.printed()).toContain('coupon redemption sent');
    expect(worker.printed()).not.toContain(API_KEY);
  }, 60_000);

  it('keeps a key that Sovendus echoes back altered out of its stderr and the dead letters', async () => {
    const { shop, close } = shopWithoutWorker();
    const echoes = Object.values(alteredEchoes(API_KEY));
    // One conversion for each echo: Sovendus is down when the shop sends them, so they wait.
    api.failNext(echoes.length, { status: 503 });
    const results = await Promise.all(
      echoes.map(() => shop.sendConversion({ token: freshTestToken() })),
    );
    expect(results.map((result) => result.status)).toEqual(echoes.map(() => 'queued'));
    await close();
    // The worker's calls: each answered 422 with the key echoed one way, so each job dies.
    api.enqueue(
      ...echoes.map((echo) => ({ status: 422, body: { message: `Unknown key ${echo}` } })),
    );

    const worker = startWorkerProcess({
      SOVENDUS_API_BASE_URL: api.url,
      REDIS_URL: redisServer.url,
    });
    const reader = new Redis(redisServer.url);
    // BullMQ files each job as failed just after the worker's line about it.
    await waitFor(
      async () => (await reader.zcard('bull:sovendus-conversions:failed')) === echoes.length,
      'every job dead',
      { timeoutMs: 50_000, detail: worker.printed },
    );
    expect(await worker.stop()).toBe(0);
    expect(worker.printed()).toContain('Unknown key');
    expectNoKeyPiece(API_KEY, worker.printed(), await everythingIn(reader));
    await reader.quit();
  }, 60_000);

  it('says in a line of its own that Redis does not answer, without ioredis noise, and stops on SIGTERM', async () => {
    // A port that takes each connection and resets it: every reconnect attempt fails, and
    // is counted, so the test knows several came and went.
    let attempts = 0;
    const resetter = createServer((socket) => {
      attempts += 1;
      socket.resetAndDestroy();
    });
    await new Promise<void>((listening) => resetter.listen(0, '127.0.0.1', listening));
    const { port } = resetter.address() as AddressInfo;
    try {
      const worker = startWorkerProcess({ REDIS_URL: `redis://127.0.0.1:${port}` });
      await waitFor(
        () => attempts >= 10 && worker.printed().includes('delivering queued conversions'),
        'ten failed connections',
        { detail: worker.printed },
      );
      expect(await worker.stop()).toBe(0);
      const printed = worker.printed();
      expect(printed).not.toContain('Unhandled error event');
      // One line for each client, however many attempts failed.
      expect(printed.match(/cannot reach Redis/g)).toHaveLength(2);
      expect(printed).toMatch(/token store: cannot reach Redis \(\w+ ECONNRESET/);
      expect(printed).toMatch(/queue: cannot reach Redis \(\w+ ECONNRESET/);
    } finally {
      await new Promise((closed) => resetter.close(closed));
    }
  }, 30_000);
});
