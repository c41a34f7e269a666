import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Queue } from 'bullmq';
import { attemptsForWindow, type BullMQDeliveryQueue } from '../src/bullmq.js';
import {
  deliveryId,
  RedisTokenStore,
  type Sovendus,
  type SovendusOptions,
  type TokenStore,
} from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { nextEvent, queueConnection, queuedInstance, testQueue } from './support/queue.js';
import { connectTestRedis, type TestRedis } from './support/redis.js';
import { API_KEY, createShop, freshTestToken, PRODUCT_ID } from './support/shop.js';
import { eventually } from './support/wait-for.js';

let redis: TestRedis;
let api: FakeSovendusApi;
const opened: Sovendus[] = [];

beforeAll(async () => {
  redis = connectTestRedis();
  api = await startFakeSovendusApi({ apiKey: API_KEY });
});
afterAll(async () => {
  await Promise.all(opened.map((instance) => instance.close()));
  await api.close();
  await redis.close();
});
beforeEach(() => {
  api.reset();
});

const connection = queueConnection();
const queueNamed = (name: string, retryWindowMs?: number) => testQueue(redis, name, retryWindowMs);
const next = nextEvent;

function instance(queue: BullMQDeliveryQueue, options: Partial<SovendusOptions> = {}) {
  const sovendus = queuedInstance(redis, api, queue, options);
  opened.push(sovendus);
  return sovendus;
}

describe('the durable queue', () => {
  it('spans the retry window with doubling delays', () => {
    expect(attemptsForWindow(24 * 3600 * 1000, 30_000)).toBe(13); // 30 s · (2^12 − 1) ≈ 34 h
    expect(attemptsForWindow(100, 20)).toBe(4); // 20 + 40 + 80 ≥ 100
    expect(attemptsForWindow(1, 20)).toBe(2);
  });

  it('queues a conversion that fails transiently, then delivers it once Sovendus is back', async () => {
    const sovendus = instance(queueNamed(`q-${randomUUID()}`));
    const token = freshTestToken();
    api.failNext(3, { status: 503 });
    const sent = next(sovendus, 'sent');
    const result = await sovendus.sendConversion({ token, orderId: 'queued-order' });
    expect(result).toMatchObject({ status: 'queued', token, error: { code: 'UNAVAILABLE' } });
    expect(await sent).toMatchObject({ status: 'sent', token, orderId: 'queued-order' });
    expect(api.conversions.map((call) => call.token)).toEqual([token]);
    expect(api.calls).toHaveLength(4);
  });

  it('queues a coupon redemption through the same queue, and delivers it once', async () => {
    const queue = queueNamed(`q-${randomUUID()}`);
    const coupons = { trafficSourceNumber: 1234, apiBaseUrl: api.url };
    const [first, second] = [instance(queue, { coupons }), instance(queue, { coupons })];
    api.failNext(2, { status: 500 });
    const redeemed = Promise.race([next(first, 'redeemed'), next(second, 'redeemed')]);
    const orderId = `order-${randomUUID()}`;
    const results = await Promise.all(
      [first, second].map((each) =>
        each.redeemCoupon({ couponCode: 'QUEUED', orderId, email: 'a@b.example' }),
      ),
    );
    // One claims and queues it; the other either met the claim or queued the same job.
    expect(results.map((result) => result.status)).toContain('queued');
    expect(results.every((result) => ['queued', 'duplicate'].includes(result.status))).toBe(true);
    expect(await redeemed).toMatchObject({ status: 'sent', couponCode: 'QUEUED', orderId });
    // Idle: every worker and call has finished, so a second, wrong send would have been made.
    await Promise.all([first.close(), second.close()]);
    expect(api.redemptions).toHaveLength(1);
    // What waited in Redis was the hash, never the address.
    expect(api.redemptions[0]?.redemption).toMatchObject({ email_hash: expect.any(String) });
  });

  it("queues a redemption with the call's traffic source, and delivers it there", async () => {
    const sovendus = instance(queueNamed(`q-${randomUUID()}`), {
      coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
    });
    api.failNext(1, { status: 503 });
    const redeemed = next(sovendus, 'redeemed');
    const orderId = `order-${randomUUID()}`;
    const result = await sovendus.redeemCoupon({
      couponCode: 'ELSEWHERE',
      orderId,
      trafficSourceNumber: 5678,
      trafficMediumPublicId: 'e59c9966-f9ad-477b-8df8-826fb9a690f7',
    });
    expect(result.status).toBe('queued');
    expect(await redeemed).toMatchObject({ couponCode: 'ELSEWHERE', orderId });
    expect(api.calls.map((call) => call.path)).toEqual(['/redeem/5678', '/redeem/5678']);
    expect(api.redemptions[0]?.redemption).toMatchObject({
      traffic_medium_public_id: 'e59c9966-f9ad-477b-8df8-826fb9a690f7',
    });
  });

  it('makes a redemption dead when the coupon API refuses it for good', async () => {
    const queue = queueNamed(`q-${randomUUID()}`);
    const sovendus = instance(queue, {
      coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
    });
    api.failNext(1, { status: 503 });
    api.failNext(1, { status: 404 });
    const dead = next(sovendus, 'redemptionDead');
    await sovendus.redeemCoupon({ couponCode: 'DEAD', orderId: `order-${randomUUID()}` });
    expect(await dead).toMatchObject({ couponCode: 'DEAD', error: { code: 'WRONG_URL' } });
  });

  it('deletes the session token once a queued conversion from checkout is accepted', async () => {
    const { app, sovendus } = createShop({
      apiBaseUrl: api.url,
      store: new RedisTokenStore({ client: redis.client, prefix: redis.prefix }),
      queue: queueNamed(`q-${randomUUID()}`),
      retry: { attempts: 1 },
    });
    opened.push(sovendus);
    const visitor = request.agent(app);
    const token = freshTestToken();
    await visitor.get(`/?sovReqToken=${token}`).expect(200);
    api.failNext(1, { status: 500 });
    const sent = next(sovendus, 'sent');
    expect((await visitor.post('/checkout').send({})).body).toMatchObject({ status: 'queued' });
    await sent;
    expect((await visitor.get('/token')).body).toEqual({ token: null });
  });

  it("deletes the session's voucher code once its queued redemption from checkout is accepted", async () => {
    const { app, sovendus } = createShop(
      {
        apiBaseUrl: api.url,
        coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
        store: new RedisTokenStore({ client: redis.client, prefix: redis.prefix }),
        queue: queueNamed(`q-${randomUUID()}`),
        retry: { attempts: 1 },
      },
      (routes) => {
        routes.post('/order', async (req, res) => {
          res.json(await req.sovendus.completeOrder({ orderId: `order-${randomUUID()}` }));
        });
      },
    );
    opened.push(sovendus);
    const visitor = request.agent(app);
    await visitor.get('/?sovCouponCode=QUEUED-LINK').expect(200);
    api.failNext(1, { status: 500 });
    const redeemed = next(sovendus, 'redeemed');
    expect((await visitor.post('/order').send({})).body).toMatchObject({
      redemptions: [{ status: 'queued', couponCode: 'QUEUED-LINK' }],
    });
    expect(await redeemed).toMatchObject({ couponCode: 'QUEUED-LINK' });
    await eventually(async () => {
      expect((await visitor.get('/coupon')).body).toEqual({ couponCode: null });
    });
  });

  it('makes a conversion dead when Sovendus refuses it for good', async () => {
    const queue = queueNamed(`q-${randomUUID()}`);
    const sovendus = instance(queue);
    api.failNext(1, { status: 503 });
    api.failNext(1, { status: 422, body: 'Token not found.' });
    const dead = next(sovendus, 'dead');
    await sovendus.sendConversion({ token: freshTestToken() });
    expect(await dead).toMatchObject({ error: { code: 'INVALID_PARAMETERS' } });
    // The event comes from the worker just before BullMQ files the job as failed.
    await eventually(async () => {
      expect(await queue.deadCount()).toBe(1);
    });
  });

  it('makes a conversion dead when its retry window runs out', async () => {
    const queue = queueNamed(`q-${randomUUID()}`, 100);
    const sovendus = instance(queue);
    api.failNext(50, { status: 503 });
    const dead = next(sovendus, 'dead');
    await sovendus.sendConversion({ token: freshTestToken() });
    expect(await dead).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    expect(api.calls).toHaveLength(1 + queue.attempts);
    api.reset();
  });

  it('sends once when several instances queue the same conversion and all run workers', async () => {
    const name = `q-${randomUUID()}`;
    const instances = [
      instance(queueNamed(name)),
      instance(queueNamed(name)),
      instance(queueNamed(name)),
    ];
    const token = freshTestToken();
    api.failNext(3, { status: 503 });
    const sent = Promise.race(instances.map((each) => next(each, 'sent')));
    const results = await Promise.all(instances.map((each) => each.sendConversion({ token })));
    expect(results.map((result) => result.status).sort()).toContain('queued');
    await sent;
    // Idle: every worker and call has finished, so a second, wrong send would have been made.
    await Promise.all(instances.map((each) => each.close()));
    expect(api.conversions.map((call) => call.token)).toEqual([token]);
  });

  it('retries, rather than drops, a queued conversion that another sender is busy with', async () => {
    const queue = queueNamed(`q-${randomUUID()}`);
    const store = new RedisTokenStore({ client: redis.client, prefix: redis.prefix });
    const sovendus = instance(queue, { store });
    const token = freshTestToken();
    const claim = [`conversion:${PRODUCT_ID}:${token}`];
    expect(
      await store.acquireClaims(claim, 'another-sender', {
        endsAt: Date.now() + 60_000,
        keepSeconds: 60,
      }),
    ).toBe('acquired');
    await queue.enqueue({ kind: 'conversion', token, productId: PRODUCT_ID });
    // The worker has met the claim twice (and so retried once) without sending or dropping it.
    const jobs = new Queue(queue.name, {
      connection,
      prefix: `${redis.prefix}bull`,
    });
    await eventually(async () => {
      const job = await jobs.getJob(
        deliveryId({ kind: 'conversion', token, productId: PRODUCT_ID }),
      );
      expect(job?.attemptsMade).toBeGreaterThanOrEqual(2);
    }, 20_000);
    await jobs.close();
    expect(api.calls).toEqual([]);
    const sent = next(sovendus, 'sent');
    await store.releaseClaims(claim, 'another-sender'); // the other sender failed and gave up
    expect(await sent).toMatchObject({ token });
    expect(api.conversions).toHaveLength(1);
  });

  it('dead-letters, and never posts, a job that is not a valid delivery', async () => {
    // Whoever can write to the queue's Redis can write a job: it is checked as a request is.
    const queue = queueNamed(`q-${randomUUID()}`);
    const sovendus = instance(queue, {
      coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
    });
    const dead: unknown[] = [];
    sovendus.on('dead', (event) => dead.push(event.error.code));
    sovendus.on('redemptionDead', (event) => dead.push(event.error.code));
    const forged = [
      // ".." would make /ext/{productId}/../api: another path on the same host, with the key.
      { kind: 'conversion', token: '..', productId: PRODUCT_ID },
      { kind: 'conversion', token: 'a/../../b', productId: PRODUCT_ID },
      { kind: 'conversion', token: freshTestToken(), productId: '../../admin' },
      { kind: 'conversion', token: freshTestToken(), productId: PRODUCT_ID, orderId: {} },
      { kind: 'redemption', couponCode: '', orderId: 'forged' },
      { kind: 'redemption', couponCode: 'OK', orderId: 'forged', emailHash: '../x' },
      { kind: 'redemption', couponCode: 'OK', orderId: 'forged', trafficSourceNumber: '../x' },
      { kind: 'redemption', couponCode: 'OK', orderId: 'forged', trafficMediumPublicId: 7 },
      { kind: 'redemption', couponCode: 'OK', orderId: 'forged', sessionKey: { $gt: '' } },
      { kind: 'checkout', sessionKey: 42, checkoutAt: 'now' },
    ];
    const jobs = new Queue(queue.name, {
      connection,
      prefix: `${redis.prefix}bull`,
    });
    await Promise.all(forged.map((job) => jobs.add(job.kind, job)));
    await jobs.close();
    await eventually(async () => {
      expect(await queue.deadCount()).toBe(forged.length);
    });
    expect(api.calls).toEqual([]);
    expect([...dead].sort()).toEqual(
      [
        'INVALID_TOKEN',
        'INVALID_TOKEN',
        'INVALID_CONFIG',
        'INVALID_INPUT', // the order id
        'INVALID_INPUT',
        'INVALID_CONFIG',
        'INVALID_INPUT', // the traffic source
        'INVALID_INPUT', // the traffic medium
        'INVALID_CONFIG', // the session key
        'INVALID_CONFIG',
      ].sort(),
    );
  });

  it('survives a restart: what one process queued, another delivers', async () => {
    const name = `q-${randomUUID()}`;
    const dying = instance(queueNamed(name), { worker: false });
    const token = freshTestToken();
    api.failNext(1, { status: 503 });
    expect((await dying.sendConversion({ token })).status).toBe('queued');
    await dying.close();
    expect(api.conversions).toEqual([]);

    const successor = instance(queueNamed(name));
    expect(await next(successor, 'sent')).toMatchObject({ token });
    expect(api.conversions.map((call) => call.token)).toEqual([token]);
  });
});

describe("a checkout's follow-up", () => {
  it('sends a token whose capture was saved only after the checkout read the session', async () => {
    // The landing's save waits at a gate, as in a Redis stall: it misses its deadline (the
    // page is served), the checkout finds no token, and only then is the save answered.
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const slowSaves: TokenStore = {
      saveToken: async (...args) => {
        await gate;
        return redis.store.saveToken(...args);
      },
      getToken: (...args) => redis.store.getToken(...args),
      acquireClaims: (...args) => redis.store.acquireClaims(...args),
      completeClaims: (...args) => redis.store.completeClaims(...args),
      releaseClaims: (...args) => redis.store.releaseClaims(...args),
    };
    const queue = queueNamed(`q-${randomUUID()}`);
    const { app, sovendus } = createShop({
      store: slowSaves,
      apiBaseUrl: api.url,
      queue,
      storeTimeoutMs: 200,
      timeoutMs: 1_000,
      sendLimitMs: 1_000,
    });
    opened.push(sovendus);
    const visitor = request.agent(app);
    const token = freshTestToken();
    const captureFailed = next(sovendus, 'failed');
    await visitor.get(`/?sovReqToken=${token}`).expect(200);
    expect(await captureFailed).toMatchObject({ stage: 'capture' });
    expect((await visitor.post('/checkout').send({ orderId: 'late-capture' })).body).toEqual({
      status: 'no_token',
    });
    const sent = next(sovendus, 'sent');
    open();
    // Nobody checks out again: the follow-up finds the token once a lease has passed.
    expect(await sent).toMatchObject({ token, orderId: 'late-capture' });
    expect(api.conversions.map((call) => call.token)).toEqual([token]);
  }, 60_000);

  it('does not send a token that a later visit brought, after the checkout', async () => {
    const queue = queueNamed(`q-${randomUUID()}`);
    const { app, sovendus } = createShop({
      store: redis.store,
      apiBaseUrl: api.url,
      queue,
      timeoutMs: 1_000,
      sendLimitMs: 1_000,
      storeTimeoutMs: 1_000,
    });
    opened.push(sovendus);
    const visitor = request.agent(app);
    const first = freshTestToken();
    await visitor.get(`/?sovReqToken=${first}`).expect(200);
    expect((await visitor.post('/checkout').send({})).body).toMatchObject({ status: 'sent' });
    const second = freshTestToken(); // a new Sovendus click; no order yet
    await visitor.get(`/?sovReqToken=${second}`).expect(200);
    // The first checkout's follow-up has run (its job is gone) and left the new token alone.
    const jobs = new Queue(queue.name, {
      connection,
      prefix: `${redis.prefix}bull`,
    });
    await eventually(async () => {
      expect(await jobs.getJobCounts('delayed', 'waiting', 'active')).toMatchObject({
        delayed: 0,
        waiting: 0,
        active: 0,
      });
    }, 40_000);
    await jobs.close();
    expect(api.conversions.map((call) => call.token)).toEqual([first]);
    expect((await visitor.get('/token')).body).toEqual({ token: second });
  }, 60_000);
});
