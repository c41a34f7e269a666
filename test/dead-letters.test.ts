import { createHash, randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import type { BullMQDeliveryQueue, DeadLetter } from '../src/bullmq.js';
import { deliveryId, type QueuedDelivery } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { nextEvent, queueConnection, queuedInstance, testQueue } from './support/queue.js';
import { connectTestRedis, type TestRedis } from './support/redis.js';
import { API_KEY, freshTestToken, PRODUCT_ID } from './support/shop.js';
import { eventually } from './support/wait-for.js';

/*
 * Dead letters an operator can see and send again: against the real Redis, real BullMQ
 * workers (the instances') and the fake API, which only takes API_KEY.
 */

const OLD_KEY = 'OLDK-EYROT-ATEDAW-AY1';
const EMAIL = 'dead.letter@shop.example';
const EMAIL_HASH = createHash('md5').update(EMAIL).digest('hex');

let redis: TestRedis;
let api: FakeSovendusApi;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  redis = connectTestRedis();
  api = await startFakeSovendusApi({ apiKey: API_KEY });
});
afterAll(async () => {
  await Promise.all(opened.map((each) => each.close()));
  await api.close();
  await redis.close();
});
beforeEach(() => {
  api.reset();
});

const connection = queueConnection();
const queueNamed = (name: string) => testQueue(redis, name);
const next = nextEvent;

/** An instance whose worker delivers from the queue `name`, with `apiKey`. */
function instance(name: string, apiKey: string) {
  const queue = queueNamed(name);
  const sovendus = queuedInstance(redis, api, queue, {
    apiKey,
    coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
  });
  opened.push(sovendus);
  return { sovendus, queue };
}

/** Waits until the queue holds `count` dead letters, and returns them. */
async function deadLetters(queue: BullMQDeliveryQueue, count: number): Promise<DeadLetter[]> {
  let letters: DeadLetter[] = [];
  await eventually(async () => {
    letters = await queue.listDead();
    expect(letters).toHaveLength(count);
  }, 15_000);
  return letters;
}

/** A conversion queued straight away, which a worker with the rotated key makes dead (403). */
async function deadConversion(name: string, orderId = `order-${randomUUID()}`) {
  const token = freshTestToken();
  const old = instance(name, OLD_KEY);
  const dead = next(old.sovendus, 'dead');
  await old.queue.enqueue({ kind: 'conversion', token, productId: PRODUCT_ID, orderId });
  expect(await dead).toMatchObject({ token, error: { code: 'INVALID_API_KEY' } });
  const [letter] = await deadLetters(old.queue, 1);
  await old.sovendus.close();
  return { token, orderId, letter: letter! };
}

/** The BullMQ state of the job `delivery` is queued as. */
async function stateOf(name: string, delivery: QueuedDelivery): Promise<string> {
  const jobs = new Queue(name, { connection, prefix: `${redis.prefix}bull` });
  try {
    return await jobs.getJobState(deliveryId(delivery));
  } finally {
    await jobs.close();
  }
}

describe('dead letters', () => {
  it('lists a conversion refused for its key, and sends it once when retried with the new key', async () => {
    const name = `dead-${randomUUID()}`;
    const { token, orderId, letter } = await deadConversion(name);
    expect(letter).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{12}$/),
      kind: 'conversion',
      queuedAt: expect.any(Number),
      diedAt: expect.any(Number),
      runs: 1,
      code: 'INVALID_API_KEY',
      reason: expect.stringContaining('Sovendus rejected the API key (403)'),
      token: `${token.slice(0, 8)}…`,
      productId: PRODUCT_ID,
      orderId,
    });
    expect(letter.diedAt).toBeGreaterThanOrEqual(letter.queuedAt!);
    expect(api.conversions).toHaveLength(0);

    const fixed = instance(name, API_KEY);
    const sent = next(fixed.sovendus, 'sent');
    expect(await fixed.queue.retryDead([letter.id])).toEqual({
      handled: [letter.id],
      notFound: [],
    });
    expect(await sent).toMatchObject({ status: 'sent', token, orderId });
    expect(await fixed.queue.listDead()).toEqual([]);
    await fixed.sovendus.close();
    expect(api.conversions.map((call) => call.token)).toEqual([token]);
  });

  it('lists a redemption without its e-mail hash, and retries every dead letter with all', async () => {
    const name = `dead-${randomUUID()}`;
    const failing = instance(name, API_KEY);
    const orderId = `order-${randomUUID()}`;
    const dead = next(failing.sovendus, 'redemptionDead');
    api.failNext(1, { status: 503 });
    api.failNext(1, { status: 422, body: { error: 'Input validation failed.' } });
    const result = await failing.sovendus.redeemCoupon({
      couponCode: 'DEADCODE42',
      orderId,
      email: EMAIL,
    });
    expect(result.status).toBe('queued');
    expect(await dead).toMatchObject({ couponCode: 'DEADCODE42', orderId });
    const [letter] = await deadLetters(failing.queue, 1);
    expect(letter).toMatchObject({
      kind: 'redemption',
      code: 'INVALID_PARAMETERS',
      couponCode: 'DEADCODE…',
      orderId,
      runs: 1,
    });
    expect(JSON.stringify(letter)).not.toContain(EMAIL_HASH);

    const redeemed = next(failing.sovendus, 'redeemed');
    expect(await failing.queue.retryDead('all')).toEqual({ handled: [letter!.id], notFound: [] });
    expect(await redeemed).toMatchObject({ couponCode: 'DEADCODE42', orderId });
    await failing.sovendus.close();
    expect(api.redemptions.map((call) => call.redemption?.coupon_code)).toEqual(['DEADCODE42']);
  });

  it('drops the dead letters it is given, and says which ids it did not find', async () => {
    const name = `dead-${randomUUID()}`;
    const { letter } = await deadConversion(name);
    const queue = queueNamed(name);
    opened.push(queue);
    expect(await queue.dropDead([letter.id, '0123456789ab', 'not an id'])).toEqual({
      handled: [letter.id],
      notFound: ['0123456789ab', 'not an id'],
    });
    expect(await queue.listDead()).toEqual([]);
    expect(await queue.deadCount()).toBe(0);
    expect(await queue.retryDead([letter.id])).toEqual({ handled: [], notFound: [letter.id] });
  });

  it('does not send again a dead letter whose conversion was sent since', async () => {
    const name = `dead-${randomUUID()}`;
    const { token, orderId, letter } = await deadConversion(name);
    const fixed = instance(name, API_KEY);
    // The shop sent it with the token it kept with the order, once the key was fixed.
    expect((await fixed.sovendus.sendConversion({ token, orderId })).status).toBe('sent');
    expect((await fixed.queue.retryDead([letter.id])).handled).toEqual([letter.id]);
    const job = { kind: 'conversion', token, productId: PRODUCT_ID } as const;
    // Its claims say it was sent: the job is done without a call.
    await eventually(async () => {
      expect(await stateOf(name, job)).toBe('completed');
    }, 15_000);
    await fixed.sovendus.close();
    expect(api.conversions.map((call) => call.token)).toEqual([token]);
  });

  it('puts a retried dead letter that fails again back among the dead, with its new reason', async () => {
    const name = `dead-${randomUUID()}`;
    const { letter } = await deadConversion(name);
    const fixed = instance(name, API_KEY);
    const dead = next(fixed.sovendus, 'dead');
    api.failNext(1, { status: 422, body: 'External product id not found.' });
    await fixed.queue.retryDead([letter.id]);
    expect(await dead).toMatchObject({ error: { code: 'INVALID_PARAMETERS' } });
    const [again] = await deadLetters(fixed.queue, 1);
    expect(again).toMatchObject({
      id: letter.id,
      code: 'INVALID_PARAMETERS',
      reason: expect.stringContaining('External product id not found.'),
      runs: 1,
    });
    expect(api.conversions).toHaveLength(0);
  });

  it('reads hostile jobs as hostile: no control characters, no secrets, no session key', async () => {
    const name = `dead-${randomUUID()}`;
    const token = freshTestToken();
    const prefix = `${redis.prefix}bull`;
    const raw = new Queue(name, { connection, prefix });
    const sessionKey = `sess:${randomUUID()}`;
    const forged = [
      {
        kind: 'conversion',
        token,
        productId: PRODUCT_ID,
        orderId: 'o\u001b[2J\u009b1',
        sessionKey,
      },
      { kind: 'redemption', couponCode: 'C\u0007ODE-1234567', emailHash: EMAIL_HASH, orderId: 7 },
      { kind: 'checkout', sessionKey, checkoutAt: 'yesterday' },
      'not even an object',
      { kind: 'conversion', token: { toString: 'x' }, productId: 42 },
    ];
    for (const [index, data] of forged.entries()) await raw.add('x', data, { jobId: `j${index}` });
    // Each reason quotes its job's secrets, and tries to retitle the operator's terminal.
    const worker = new Worker<Record<string, unknown>>(
      name,
      ({ data }) => {
        const quoted = [data.token, data.emailHash, data.sessionKey]
          .map((value) => (typeof value === 'string' ? value : ''))
          .join(' ');
        throw new Error(`INVALID_API_KEY: \u001b]0;title\u0007refused ${quoted}`);
      },
      { connection, prefix },
    );
    opened.push(raw, worker);
    const queue = queueNamed(name);
    opened.push(queue);
    const letters = await deadLetters(queue, forged.length);
    const printed = JSON.stringify(letters);
    // eslint-disable-next-line no-control-regex
    expect(printed).not.toMatch(/[\u0000-\u001f\u007f-\u009f]|\\u00[01]|\\u007f/);
    for (const secret of [token, EMAIL_HASH, sessionKey]) expect(printed).not.toContain(secret);
    expect(letters.map((letter) => letter.kind).sort()).toEqual([
      'checkout',
      'conversion',
      'conversion',
      'redemption',
      'unknown',
    ]);
    for (const letter of letters) {
      expect(letter).toMatchObject({ code: 'INVALID_API_KEY', reason: expect.any(String) });
      expect(letter.reason).toMatch(/^[ -~…]*$/);
    }
    // Ids and fields it could not read are left out, not guessed.
    const bad = letters.find((letter) => letter.kind === 'conversion' && !letter.token);
    expect(bad).toBeDefined();
    expect(bad).not.toHaveProperty('productId');
  });
});

describe("the queue's figures", () => {
  it('counts the last hour and the backlog by kind, from the job ids', async () => {
    const name = `figures-${randomUUID()}`;
    await deadConversion(name);
    const { sovendus, queue } = instance(name, API_KEY);
    const redeemed = next(sovendus, 'redeemed');
    api.failNext(1, { status: 503 });
    const orderId = `order-${randomUUID()}`;
    expect((await sovendus.redeemCoupon({ couponCode: 'FIGURES1', orderId })).status).toBe(
      'queued',
    );
    await redeemed;
    await eventually(async () => {
      expect(await queue.figures()).toEqual({
        at: expect.any(Number),
        lastHour: {
          done: { conversions: 0, redemptions: 1, followUps: 0 },
          dead: { conversions: 1, redemptions: 0, followUps: 0 },
        },
        backlog: {
          waiting: { conversions: 0, redemptions: 0, followUps: 0 },
          running: { conversions: 0, redemptions: 0, followUps: 0 },
          // redeemCoupon() left its follow-up, due once a lease has passed.
          delayed: { conversions: 0, redemptions: 0, followUps: 1 },
        },
        deadLetters: { conversions: 1, redemptions: 0, followUps: 0 },
      });
    });
  });
});
