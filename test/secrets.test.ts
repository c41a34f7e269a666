import { inspect } from 'node:util';
import request from 'supertest';
import { createSovendus, type ConversionResult } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { createShop, freshTestToken, PRODUCT_ID } from './support/shop.js';

const SECRET = 'S3CR-ETKEY-NEVERSEEN-XYZ';

let api: FakeSovendusApi;
beforeAll(async () => {
  api = await startFakeSovendusApi({ apiKey: SECRET });
});
afterAll(() => api.close());

/** Everything a shop could print, log or send: each must be free of the key. */
function expectNoSecret(...things: unknown[]) {
  for (const thing of things) {
    const views = [
      inspect(thing, { depth: 10, showHidden: true }),
      (JSON.stringify(thing) as string | undefined) ?? '',
    ];
    if (thing instanceof Error) views.push(thing.message, thing.stack ?? '', String(thing.cause));
    for (const view of views) expect(view).not.toContain(SECRET);
  }
}

describe('the API key', () => {
  const logged: string[] = [];
  const logger = {
    debug: (object: object, message: string) => logged.push(inspect(object), message),
    info: (object: object, message: string) => logged.push(inspect(object), message),
    warn: (object: object, message: string) => logged.push(inspect(object), message),
    error: (object: object, message: string) => logged.push(inspect(object), message),
  };

  it('is not in the instance, its middleware or its results, however they are printed', async () => {
    const sovendus = createSovendus({
      productId: PRODUCT_ID,
      apiKey: SECRET,
      apiBaseUrl: api.url,
      logger,
      retry: { attempts: 1 },
    });
    const results: ConversionResult[] = [];
    results.push(await sovendus.sendConversion({ token: freshTestToken() }));
    // Sovendus echoing the key back in an error must not leak it either.
    api.enqueue({ status: 422, body: { message: `bad key ${SECRET}` } });
    results.push(await sovendus.sendConversion({ token: freshTestToken() }));
    api.enqueue({ status: 500 });
    results.push(await sovendus.sendConversion({ token: freshTestToken() }));
    api.enqueue('reset');
    results.push(await sovendus.sendConversion({ token: freshTestToken() }));

    expect(results.map((result) => result.status)).toEqual(['sent', 'failed', 'failed', 'failed']);
    expectNoSecret(sovendus, sovendus.capture(), sovendus.convert(), ...results);
    for (const result of results) if (result.status === 'failed') expectNoSecret(result.error);
    expect(logged.length).toBeGreaterThan(0);
    expectNoSecret(logged.join('\n'));
    // ...while the key did reach Sovendus, in the body.
    expect(api.calls[0]?.apiKey).toBe(SECRET);
  });

  it('is not in what the shop sends to the browser', async () => {
    const { app } = createShop({ apiKey: SECRET, apiBaseUrl: api.url, logger });
    const visitor = request.agent(app);
    const landing = await visitor.get(`/?sovReqToken=${freshTestToken()}`);
    const checkout = await visitor.post('/checkout').send({});
    expect(checkout.body).toMatchObject({ status: 'sent' });
    expectNoSecret(landing.text, JSON.stringify(landing.headers), checkout.text);
  });

  it('is not in a configuration error', () => {
    let error: unknown;
    try {
      createSovendus({ productId: 'bad', apiKey: `${SECRET} ` });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    expectNoSecret(error);
  });
});
