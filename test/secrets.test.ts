import { inspect } from 'node:util';
import request from 'supertest';
import { createSovendus, type ConversionResult, type SovendusOptions } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { alteredEchoes, expectNoKeyPiece } from './support/key-echoes.js';
import { createShop, freshTestToken, PRODUCT_ID } from './support/shop.js';

const SECRET = 'S3CR-ETKEY-NEVERSEEN-XYZ';

let api: FakeSovendusApi;
beforeAll(async () => {
  api = await startFakeSovendusApi({ apiKey: SECRET });
});
afterAll(() => api.close());

/** An instance with the secret key, one attempt per send, and whatever `options` add. */
const withSecretKey = (options: Partial<SovendusOptions> = {}) =>
  createSovendus({
    productId: PRODUCT_ID,
    apiKey: SECRET,
    apiBaseUrl: api.url,
    retry: { attempts: 1 },
    ...options,
  });

/** A logger that writes each line, fields as `util.inspect` shows them, into `lines`. */
function loggerInto(lines: string[]) {
  const record = (object: object, message: string) => lines.push(inspect(object), message);
  return { debug: record, info: record, warn: record, error: record };
}

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
  const logger = loggerInto(logged);

  it('is not in the instance, its middleware or its results, however they are printed', async () => {
    const sovendus = withSecretKey({ logger });
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

describe('the API key, echoed back altered', () => {
  it.each(Object.entries(alteredEchoes(SECRET)))(
    'is cut out when echoed %s: from results, errors, events and log lines',
    async (_how, echo) => {
      const logged: string[] = [];
      const sovendus = withSecretKey({ logger: loggerInto(logged) });
      const events: unknown[] = [];
      sovendus.on('failed', (event) => events.push(event));
      api.enqueue(
        { status: 403, body: { message: `Unknown API key ${echo}.` } },
        { status: 422, body: `Invalid API parameters for ${echo}` },
        { status: 418, body: { error: `Who is ${echo}?` } },
      );
      const results: ConversionResult[] = [];
      for (let call = 0; call < 3; call += 1) {
        results.push(await sovendus.sendConversion({ token: freshTestToken() }));
      }
      await sovendus.close();

      const errors = results.map((result) => (result.status === 'failed' ? result.error : result));
      expect(errors.map((error) => (error as { code?: string }).code)).toEqual([
        'INVALID_API_KEY',
        'INVALID_PARAMETERS',
        'UNEXPECTED_STATUS',
      ]);
      expect(events).toHaveLength(3);
      expect(logged.length).toBeGreaterThan(0);
      expectNoKeyPiece(SECRET, ...results, ...errors, ...events, logged.join('\n'));
      // What Sovendus said around the key is kept: it is the shop's clue.
      expect((errors[1] as { sovendusMessage?: string }).sovendusMessage).toContain(
        'Invalid API parameters for',
      );
    },
  );
});

describe("Sovendus' own words", () => {
  it('are kept short, without control or invisible characters that could forge a log line', async () => {
    const sovendus = withSecretKey();
    api.enqueue({
      status: 422,
      body: {
        message: `Ungültiger\u200b Token\r\n\u001b[31mERROR forged line\u202e ${'x'.repeat(400)}`,
      },
    });
    const result = await sovendus.sendConversion({ token: freshTestToken() });
    await sovendus.close();
    const said = result.status === 'failed' ? result.error.sovendusMessage : undefined;
    expect(said?.startsWith('Ungültiger Token [31mERROR forged line xxx')).toBe(true);
    expect(said?.length).toBeLessThanOrEqual(201);
  });
});
