import type { IncomingMessage } from 'node:http';
import request from 'supertest';
import { createSovendus, type SovendusEvents } from '../src/index.js';
import { connectTestRedis, type TestRedis } from './support/redis.js';
import { createShop, freshTestToken, PRODUCT_ID, type ShopOptions } from './support/shop.js';

/*
 * What a landing may choose besides the token: the product its link belongs to
 * (`sovReqProductId`, among the shop's `productIds`), and whether the visitor consented.
 */

const LINKED = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const UNLISTED = '11111111-2222-4333-8444-555555555555';

let redis: TestRedis;
beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(() => redis.close());

function shop(options: ShopOptions) {
  const made = createShop({ store: redis.store, ...options });
  const captured: SovendusEvents['captured'][] = [];
  const rejected: SovendusEvents['rejected'][] = [];
  made.sovendus.on('captured', (event) => captured.push(event));
  made.sovendus.on('rejected', (event) => rejected.push(event));
  return { ...made, captured, rejected };
}

describe('productIds', () => {
  it('stores a listed sovReqProductId with the token instead of productId', async () => {
    const { app, captured, rejected } = shop({ productIds: [LINKED] });
    const token = freshTestToken();
    await request(app).get(`/?sovReqToken=${token}&sovReqProductId=${LINKED}`).expect(200);
    expect(captured).toEqual([{ token, productId: LINKED }]);
    expect(rejected).toEqual([]);
  });

  it('ignores one not in the list: the token is kept with the default, and "rejected" says so', async () => {
    const { app, captured, rejected } = shop({ productIds: [LINKED] });
    const token = freshTestToken();
    await request(app).get(`/?sovReqProductId=${UNLISTED}&sovReqToken=${token}`).expect(200);
    expect(captured).toEqual([{ token, productId: PRODUCT_ID }]);
    expect(rejected).toEqual([{ reason: expect.stringContaining('productIds') as string }]);
  });

  it('rejects a repeated sovReqProductId, and ignores the parameter without productIds', async () => {
    const listed = shop({ productIds: [LINKED] });
    await request(listed.app).get(
      `/?sovReqToken=${freshTestToken()}&sovReqProductId=${LINKED}&sovReqProductId=${LINKED}`,
    );
    expect(listed.captured).toMatchObject([{ productId: PRODUCT_ID }]);
    expect(listed.rejected).toHaveLength(1);

    const unlisted = shop({});
    await request(unlisted.app).get(`/?sovReqToken=${freshTestToken()}&sovReqProductId=${LINKED}`);
    expect(unlisted.captured).toMatchObject([{ productId: PRODUCT_ID }]);
    expect(unlisted.rejected).toEqual([]);
  });

  it.each([[['nope']], ['not a list'], [[PRODUCT_ID, 42]]])(
    'is validated at construction: %j',
    (productIds) => {
      expect(() =>
        createSovendus({ productId: PRODUCT_ID, apiKey: 'key', productIds } as never),
      ).toThrow(/productIds/);
    },
  );
});

describe('consent', () => {
  it('stores nothing, and emits "rejected", when it answers false', async () => {
    const asked: string[] = [];
    const { app, captured, rejected } = shop({
      consent: (req: IncomingMessage) => {
        asked.push(req.url ?? '');
        return req.headers['x-consent'] === 'yes';
      },
    });
    const visitor = request.agent(app);
    await visitor.get('/plain').expect(200);
    await visitor.get(`/?sovReqToken=${freshTestToken()}`).expect(200, 'shop page');
    expect((await visitor.get('/token')).body).toEqual({ token: null });
    expect(rejected).toEqual([{ reason: expect.stringContaining('consent') as string }]);

    const token = freshTestToken();
    await visitor.get('/').set('x-consent', 'yes').set('Cookie', `sovReqToken=${token}`);
    expect(captured).toMatchObject([{ token }]);
    // Asked on tokened requests only.
    expect(asked).toHaveLength(2);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('consent tool not loaded');
      },
    ],
    ['returns a promise', () => Promise.resolve(true)],
    ['returns a promise that rejects', () => Promise.reject(new Error('nope'))],
    ['returns a string', () => 'yes'],
  ])('that %s is no consent, logged once', async (_what, consent) => {
    const errors: string[] = [];
    const { app, captured, rejected } = shop({
      consent: consent as unknown as () => boolean,
      logger: { error: (_fields, message) => errors.push(message) },
    });
    await request(app).get(`/?sovReqToken=${freshTestToken()}`).expect(200, 'shop page');
    await request(app).get(`/?sovReqToken=${freshTestToken()}`).expect(200, 'shop page');
    expect(captured).toEqual([]);
    expect(rejected).toHaveLength(2);
    expect(errors).toEqual([expect.stringContaining('consent') as string]);
  });

  it('must be a function', () => {
    expect(() =>
      createSovendus({ productId: PRODUCT_ID, apiKey: 'key', consent: true } as never),
    ).toThrow(/consent/);
  });
});
