import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { BullMQDeliveryQueue } from '../src/bullmq.js';
import { createSovendus, RedisTokenStore } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { hasRedisServer, startRedisServer, type RedisServer } from './support/redis-server.js';
import { API_KEY, freshTestToken, PRODUCT_ID } from './support/shop.js';

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

  it('delivers the conversions and redemptions a shop without a worker queued, and stops cleanly on SIGTERM', async () => {
    const client = new Redis(redisServer.url);
    const queueConnection = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    const shop = createSovendus({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      apiBaseUrl: api.url,
      coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
      store: new RedisTokenStore({ client }),
      queue: new BullMQDeliveryQueue({ connection: queueConnection, firstRetryDelayMs: 50 }),
      worker: false,
      retry: { attempts: 1 },
    });
    const token = freshTestToken();
    api.failNext(1, { status: 503 });
    expect((await shop.sendConversion({ token })).status).toBe('queued');
    api.failNext(1, { status: 500 });
    const redemption = { couponCode: 'WORKER-1', orderId: 'worker-order', email: 'a@b.example' };
    expect((await shop.redeemCoupon(redemption)).status).toBe('queued');
    await shop.close();
    await Promise.all([client.quit(), queueConnection.quit()]);

    const worker = spawn(
      process.execPath,
      [resolve(__dirname, '../dist/cjs/cli/main.js'), 'worker'],
      {
        env: {
          PATH: process.env.PATH,
          SOVENDUS_PRODUCT_ID: PRODUCT_ID,
          SOVENDUS_API_KEY: API_KEY,
          SOVENDUS_API_BASE_URL: api.url,
          SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER: '1234',
          SOVENDUS_COUPON_API_BASE_URL: api.url,
          REDIS_URL: redisServer.url,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let log = '';
    worker.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
    });
    const delivered = () => api.conversions.length + api.redemptions.length;
    for (let waited = 0; delivered() < 2 && waited < 10_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(api.conversions.map((call) => call.token)).toEqual([token]);
    expect(api.redemptions.map((call) => call.redemption?.coupon_code)).toEqual(['WORKER-1']);
    const exitCode = await new Promise<number | null>((exited) => {
      worker.once('exit', exited);
      worker.kill('SIGTERM');
    });
    expect(exitCode).toBe(0);
    expect(log).toContain('conversion sent');
    expect(log).toContain('coupon redemption sent');
    expect(log).not.toContain(API_KEY);
  }, 20_000);
});
