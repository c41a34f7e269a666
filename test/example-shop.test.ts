import request from 'supertest';
import { createSovendus, type Sovendus } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { createExampleShop } from '../example-app/app';
import { connectTestRedis, type TestRedis } from './support/redis.js';
import { API_KEY, freshTestToken, PRODUCT_ID } from './support/shop.js';

let redis: TestRedis;
let api: FakeSovendusApi;
let sovendus: Sovendus;
let app: ReturnType<typeof createExampleShop>;

beforeAll(async () => {
  redis = connectTestRedis();
  api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
  sovendus = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    apiBaseUrl: api.url,
    coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
    store: redis.store,
    retry: { attempts: 1 },
  });
  app = createExampleShop({ sovendus, sessionSecret: 'test', sessionMaxAgeMs: 2_592_000_000 });
});
afterAll(async () => {
  await api.close();
  await redis.close();
});
beforeEach(() => {
  api.reset();
});

async function checkout(
  visitor: ReturnType<typeof request.agent>,
  name = 'Ada',
  extra: Record<string, string> = {},
) {
  await visitor.post('/cart').type('form').send({ productId: 'notebook', quantity: '2' });
  const placed = await visitor
    .post('/checkout')
    .type('form')
    .send({ name, ...extra })
    .expect(303);
  return visitor.get(placed.headers.location!).expect(200);
}

describe('the example shop', () => {
  it('shows the held token, masked to 8 characters, on every page', async () => {
    const token = freshTestToken();
    const visitor = request.agent(app);
    for (const path of [`/?sovReqToken=${token}`, '/products/mug', '/cart', '/checkout']) {
      const page = await visitor.get(path).expect(200);
      expect(page.text).toContain(`Sovendus token: <strong>${token.slice(0, 8)}…</strong>`);
      expect(page.text).not.toContain(token);
    }
  });

  it('shows "none" to a visitor who did not come from Sovendus', async () => {
    const page = await request(app).get('/').expect(200);
    expect(page.text).toContain('Sovendus token: <strong>none</strong>');
  });

  it('keeps a cart in the session and prices it', async () => {
    const visitor = request.agent(app);
    await visitor.post('/cart').type('form').send({ productId: 'mug', quantity: '2' }).expect(303);
    await visitor.post('/cart').type('form').send({ productId: 'nope', quantity: '1' });
    await visitor.post('/cart').type('form').send({ productId: 'socks', quantity: '-3' });
    const cart = await visitor.get('/cart').expect(200);
    expect(cart.text).toContain('<td>Enamel mug</td><td>2</td><td>€29.80</td>');
    expect(cart.text).not.toContain('Merino socks');
  });

  it('sends the conversion at checkout and says so on the thank-you page', async () => {
    const token = freshTestToken();
    const visitor = request.agent(app);
    await visitor.get(`/?sovReqToken=${token}`);
    const thanks = await checkout(visitor);
    expect(thanks.text).toContain('Sovendus conversion sent');
    expect(thanks.text).toContain('Sovendus token: <strong>none</strong>');
    expect(api.calls.map((call) => call.token)).toEqual([token]);
  });

  it('reports a voucher code at checkout, and the thank-you page shows both results', async () => {
    const visitor = request.agent(app);
    await visitor.get(`/?sovReqToken=${freshTestToken()}`).expect(200);
    const page = await checkout(visitor, 'Ada', {
      voucher: ' SUMMER-10 ',
      email: 'Ada@Example.com',
    });
    expect(page.text).toContain('Sovendus conversion sent');
    expect(page.text).toContain('Voucher code reported');
    expect(api.redemptions).toHaveLength(1);
    expect(api.redemptions[0]?.redemption).toMatchObject({
      coupon_code: 'SUMMER-10',
      order_currency: 'EUR',
      email_hash: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown,
    });
    expect(JSON.stringify(api.calls)).not.toContain('Example.com');
  });

  it('lists each redemption on the thank-you page, with its code and status', async () => {
    const visitor = request.agent(app);
    const page = await checkout(visitor, 'Ada', { voucher: 'WINTER-5' });
    expect(page.text).toContain('data-testid="voucher-results"');
    expect(page.text).toMatch(/<code>WINTER-5<\/code>[^<]*<span class="status">sent<\/span>/);
    // Not from Sovendus, but the code still goes to Sovendus: it decides whose it was.
    expect(page.text).toContain('No Sovendus token');
  });

  it('lists a code Sovendus cannot take as not reported, with why', async () => {
    const page = await checkout(request.agent(app), 'Ada', { voucher: 'TWO WORDS' });
    expect(page.text).toMatch(/<code>TWO WORDS<\/code>[^<]*<span class="status">failed<\/span>/);
    expect(page.text).toContain('Voucher code not reported (INVALID_INPUT)');
    expect(api.redemptions).toHaveLength(0);
  });

  it('reports no voucher when the customer entered none', async () => {
    const page = await checkout(request.agent(app));
    expect(page.text).not.toContain('Voucher code');
    expect(api.redemptions).toHaveLength(0);
  });

  it('says which order used the token when a second order of the same visit has none', async () => {
    const visitor = request.agent(app);
    await visitor.get(`/?sovReqToken=${freshTestToken()}`).expect(200);
    await visitor.post('/cart').type('form').send({ productId: 'mug', quantity: '1' });
    const first = await visitor.post('/checkout').type('form').send({ name: 'Ada' }).expect(303);
    const firstOrder = first.headers.location!.replace('/orders/', '');
    const second = await checkout(visitor);
    expect(second.text).toContain('Sovendus token already used');
    expect(second.text).toContain(
      `This visit&#39;s Sovendus token was already used by order ${firstOrder}`,
    );
    expect(second.text).not.toContain('did not come from Sovendus');
    expect(api.calls).toHaveLength(1);
  });

  it('converts a token once: a second visitor who lands with it is told, and nothing is sent twice', async () => {
    // As the README says of the test token: it converts once per run of the shop.
    const token = freshTestToken();
    const first = request.agent(app);
    await first.get(`/?sovReqToken=${token}`).expect(200);
    expect((await checkout(first)).text).toContain('Sovendus conversion sent');
    const second = request.agent(app);
    await second.get(`/?sovReqToken=${token}`).expect(200);
    const again = await checkout(second);
    expect(again.text).toContain('Already converted');
    expect(again.text).toContain('nothing was sent twice');
    expect(api.calls.map((call) => call.token)).toEqual([token]);
  });

  it('answers /favicon.ico with 204 and no session', async () => {
    const icon = await request(app).get('/favicon.ico').expect(204);
    expect(icon.headers['set-cookie']).toBeUndefined();
  });

  it('says "no token" for an order from a visitor who did not come from Sovendus', async () => {
    const thanks = await checkout(request.agent(app));
    expect(thanks.text).toContain('No Sovendus token');
    expect(api.calls).toHaveLength(0);
  });

  it('names the error and what to do about it when Sovendus refuses', async () => {
    const visitor = request.agent(app);
    await visitor.get(`/?sovReqToken=${freshTestToken()}`);
    api.enqueue({ status: 403, body: { message: 'This API call is unauthorized.' } });
    const thanks = await checkout(visitor);
    expect(thanks.text).toContain('Sovendus conversion not sent (INVALID_API_KEY)');
    expect(thanks.text).toContain('check SOVENDUS_API_KEY');
  });

  it('escapes what the customer typed', async () => {
    const thanks = await checkout(request.agent(app), '<script>alert(1)</script>');
    expect(thanks.text).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(thanks.text).not.toContain('<script>');
  });

  it('sends an empty checkout back to the form, and answers unknown pages with 404', async () => {
    await request(app).post('/checkout').type('form').send({ name: 'Ada' }).expect(303);
    await request(app).get('/products/unknown').expect(404);
    await request(app).get('/orders/unknown').expect(404);
    await request(app).get('/nowhere').expect(404);
  });
});

describe('the example shop and Sovendus voucher links', () => {
  it("pre-fills the voucher field with a voucher link's code, and reports it once", async () => {
    const visitor = request.agent(app);
    await visitor.get(`/?sovReqToken=${freshTestToken()}&sovCouponCode=LINK-10`).expect(200);
    await visitor.post('/cart').type('form').send({ productId: 'mug', quantity: '1' });
    const form = await visitor.get('/checkout').expect(200);
    expect(form.text).toContain('<input name="voucher" autocomplete="off" value="LINK-10">');
    // As the browser sends the pre-filled field.
    const page = await checkout(visitor, 'Ada', { voucher: 'LINK-10' });
    expect(page.text).toMatch(/<code>LINK-10<\/code>[^<]*<span class="status">sent<\/span>/);
    expect(api.redemptions.map((call) => call.redemption?.coupon_code)).toEqual(['LINK-10']);
    // Used up by that order: the next one starts with an empty field.
    await visitor.post('/cart').type('form').send({ productId: 'mug', quantity: '1' });
    const next = await visitor.get('/checkout').expect(200);
    expect(next.text).toContain('<input name="voucher" autocomplete="off" value="">');
  });

  it('shows an empty voucher field to a visitor who came by no voucher link', async () => {
    const visitor = request.agent(app);
    await visitor.post('/cart').type('form').send({ productId: 'mug', quantity: '1' });
    const form = await visitor.get('/checkout').expect(200);
    expect(form.text).toContain('<input name="voucher" autocomplete="off" value="">');
  });

  it('forgets a visitor who asks: token and voucher code gone, both cookies expired', async () => {
    const visitor = request.agent(app);
    const token = freshTestToken();
    await visitor.get(`/?sovReqToken=${token}&sovCouponCode=FORGET-5`).expect(200);
    const page = await visitor.get('/').expect(200);
    expect(page.text).toContain('<form method="post" action="/forget"');
    const forgotten = await visitor.post('/forget').expect(303);
    expect(forgotten.headers.location).toBe('/');
    const cookies = String(forgotten.headers['set-cookie']);
    expect(cookies).toContain('sovReqToken=; Max-Age=0');
    expect(cookies).toContain('sovCouponCode=; Max-Age=0');
    const after = await visitor.get('/').expect(200);
    expect(after.text).toContain('Sovendus token: <strong>none</strong>');
    await visitor.post('/cart').type('form').send({ productId: 'mug', quantity: '1' });
    const form = await visitor.get('/checkout').expect(200);
    expect(form.text).toContain('<input name="voucher" autocomplete="off" value="">');
  });
});
