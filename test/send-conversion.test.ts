import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type SovendusEvents,
  MemoryTokenStore,
  createSovendus,
  SovendusError,
  SovendusInvalidApiKeyError,
  SovendusInvalidParametersError,
  SovendusNotFoundError,
  SovendusUnavailableError,
  type ConversionResult,
  type Sovendus,
  type SovendusOptions,
} from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { API_KEY, freshTestToken, PRODUCT_ID, TEST_TOKEN } from './support/shop.js';

let api: FakeSovendusApi;
let sovendus: Sovendus;

beforeAll(async () => {
  api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
});
afterAll(() => api.close());

beforeEach(() => {
  api.reset();
  sovendus = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    apiBaseUrl: api.url,
    // Generous: a busy machine must not turn a quick answer into "the call goes on".
    timeoutMs: 10_000,
    retry: { attempts: 3, minDelayMs: 10, maxDelayMs: 50 },
  });
});
afterEach(() => sovendus.close());

/** An instance on the fake API with `options`, closed after the test. */
const opened: Sovendus[] = [];
function instanceWith(options: Partial<SovendusOptions>): Sovendus {
  const instance = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    apiBaseUrl: api.url,
    ...options,
  });
  opened.push(instance);
  return instance;
}
afterEach(() => Promise.all(opened.splice(0).map((instance) => instance.close())));

function failure(result: ConversionResult): SovendusError {
  if (result.status !== 'failed') throw new Error(`expected failed, got ${result.status}`);
  return result.error;
}

describe('sendConversion', () => {
  it('posts the API key as JSON to /ext/{productId}/{token}/api and reports it sent', async () => {
    const result = await sovendus.sendConversion({ token: TEST_TOKEN, orderId: 'A-1' });
    expect(result).toEqual({
      status: 'sent',
      token: TEST_TOKEN,
      productId: PRODUCT_ID,
      orderId: 'A-1',
      attempts: 1,
    });
    expect(api.calls).toEqual([
      {
        api: 'conversion',
        method: 'POST',
        path: `/ext/${PRODUCT_ID}/${TEST_TOKEN}/api`,
        productId: PRODUCT_ID,
        token: TEST_TOKEN,
        apiKey: API_KEY,
        reply: 200,
        accepted: true,
      },
    ]);
  });

  it('maps 403 to SovendusInvalidApiKeyError, without retrying', async () => {
    api.enqueue({ status: 403, body: { message: 'This API call is unauthorized.' } });
    const error = failure(await sovendus.sendConversion({ token: TEST_TOKEN }));
    expect(error).toBeInstanceOf(SovendusInvalidApiKeyError);
    expect(error).toMatchObject({ code: 'INVALID_API_KEY', status: 403, retryable: false });
    expect(api.calls).toHaveLength(1);
  });

  it("maps 422 to SovendusInvalidParametersError with Sovendus' message", async () => {
    const error = failure(await sovendus.sendConversion({ token: '12345-test-12-12345' }));
    expect(error).toBeInstanceOf(SovendusInvalidParametersError);
    expect(error).toMatchObject({
      code: 'INVALID_PARAMETERS',
      status: 422,
      retryable: false,
      sovendusMessage: 'Invalid API parameters.',
    });
    expect(error.message).toContain('Invalid API parameters.');
    expect(api.calls).toHaveLength(1);
  });

  it('maps an unknown product id to 422 "External product id not found."', async () => {
    const other = '00000000-0000-4000-8000-000000000000';
    const error = failure(await sovendus.sendConversion({ token: TEST_TOKEN, productId: other }));
    expect(error.sovendusMessage).toBe('External product id not found.');
  });

  it('maps 404 to SovendusNotFoundError (a wrong apiBaseUrl)', async () => {
    const wrongBase = createSovendus({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      apiBaseUrl: `${api.url}/v2`,
    });
    const error = failure(await wrongBase.sendConversion({ token: TEST_TOKEN }));
    expect(error).toBeInstanceOf(SovendusNotFoundError);
    expect(error).toMatchObject({ code: 'WRONG_URL', status: 404, retryable: false });
  });

  it.each([405, 400])('treats HTTP %i as a final UNEXPECTED_STATUS', async (status) => {
    api.enqueue({ status });
    const error = failure(await sovendus.sendConversion({ token: TEST_TOKEN }));
    expect(error.constructor).toBe(SovendusError);
    expect(error).toMatchObject({ code: 'UNEXPECTED_STATUS', status, retryable: false });
  });

  it.each([301, 307, 308])(
    'never follows a redirect (HTTP %i): a final UNEXPECTED_STATUS',
    async (status) => {
      api.enqueue({ status, headers: { location: `${api.url}/elsewhere` } });
      const error = failure(await sovendus.sendConversion({ token: TEST_TOKEN }));
      expect(error.constructor).toBe(SovendusError);
      expect(error).toMatchObject({ code: 'UNEXPECTED_STATUS', retryable: false });
      expect(error.message).toMatch(/redirect.*apiBaseUrl/);
      expect(api.calls).toHaveLength(1); // followed, it would carry the key to the location
    },
  );

  it('retries 5xx, 429, hangs and resets, then succeeds, and reports each resend that may double', async () => {
    const patient = instanceWith({
      timeoutMs: 20_000,
      sendLimitMs: 200,
      retry: { attempts: 3, minDelayMs: 10, maxDelayMs: 50 },
    });
    const resends: SovendusEvents['resend'][] = [];
    patient.on('resend', (event) => resends.push(event));
    try {
      api.enqueue({ status: 503 }, 'reset');
      expect(await patient.sendConversion({ token: TEST_TOKEN })).toMatchObject({
        status: 'sent',
        attempts: 3,
      });
      api.enqueue({ status: 429, headers: { 'retry-after': '0' } }, 'hang');
      expect(await patient.sendConversion({ token: '11111-test-111-11111' })).toMatchObject({
        status: 'sent',
        attempts: 3,
      });
      // A 503 or a 429 proves the call was not taken; a reset or a hang does not.
      expect(resends).toEqual([
        { kind: 'conversion', reason: 'connection-lost', token: TEST_TOKEN, productId: PRODUCT_ID },
        {
          kind: 'conversion',
          reason: 'no-answer',
          token: '11111-test-111-11111',
          productId: PRODUCT_ID,
        },
      ]);
    } finally {
      await patient.close();
    }
  });

  it('sends once, without a resend, when an answer comes after the wait: the call goes on', async () => {
    const token = freshTestToken();
    const impatient = instanceWith({
      timeoutMs: 50,
    });
    const sent = new Promise((resolve) => impatient.on('sent', resolve));
    const resends: unknown[] = [];
    impatient.on('resend', (event) => resends.push(event));
    // Held until the request stopped waiting, then answered: as a slow Sovendus would.
    let answer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    api.enqueue({ status: 200, until: answered });
    const result = await impatient.sendConversion({ token });
    expect(result).toMatchObject({ status: 'failed', error: { code: 'UNAVAILABLE' } });
    expect(failure(result).message).toContain('the call goes on');
    answer();
    expect(await sent).toMatchObject({ status: 'sent', token, attempts: 1 });
    expect(api.conversions).toHaveLength(1);
    expect(resends).toEqual([]);
    // Recorded as sent: a second try is a duplicate, not a second call.
    expect(await impatient.sendConversion({ token })).toMatchObject({ status: 'duplicate' });
    expect(api.calls).toHaveLength(1);
    await impatient.close();
  });

  it('keeps a call whose answer was lost to itself until its lease ends, then reports the resend', async () => {
    let now = Date.now();
    const single = instanceWith({
      retry: { attempts: 1 },
      store: new MemoryTokenStore({ now: () => now }),
    });
    const resends: SovendusEvents['resend'][] = [];
    single.on('resend', (event) => resends.push(event));
    const token = freshTestToken();
    api.enqueue('drop'); // taken by Sovendus, but the answer never comes back
    expect(await single.sendConversion({ token })).toMatchObject({
      status: 'failed',
      error: { code: 'UNAVAILABLE' },
    });
    // Not released: a retry now could double it without anyone knowing.
    expect(await single.sendConversion({ token })).toMatchObject({ status: 'duplicate' });
    now += 3_600_000; // the lease has ended
    expect(await single.sendConversion({ token })).toMatchObject({ status: 'sent' });
    expect(resends).toEqual([
      { kind: 'conversion', reason: 'resumed', token, productId: PRODUCT_ID },
    ]);
    expect(api.conversions).toHaveLength(2); // what the protocol cannot avoid, said above
    await single.close();
  });

  it('decides on the status line: a 200 whose body never ends is sent', async () => {
    const token = freshTestToken();
    api.enqueue('stall');
    expect(await sovendus.sendConversion({ token })).toMatchObject({ status: 'sent', token });
    expect(api.calls).toHaveLength(1);
  });

  it('reads no more than 4 KB of a huge answer, and drops the rest unread', async () => {
    // Issue 12: a 256 MB body cost +300 MB when answers were read whole. The server writes
    // as fast as the client reads (backpressure), so what it wrote is what was read, plus
    // what sockets buffer.
    const BODY_BYTES = 256 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let written = 0;
    let closed: () => void = () => undefined;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const huge = createServer((req, res) => {
      req.resume();
      res.on('close', closed);
      res.writeHead(422, { 'content-type': 'text/plain' });
      const pump = () => {
        while (written < BODY_BYTES && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => huge.listen(0, '127.0.0.1', resolve));
    try {
      const instance = instanceWith({
        apiBaseUrl: `http://127.0.0.1:${(huge.address() as AddressInfo).port}`,
        timeoutMs: 10_000,
      });
      const error = failure(await instance.sendConversion({ token: freshTestToken() }));
      expect(error).toMatchObject({ code: 'INVALID_PARAMETERS', status: 422 });
      expect(error.sovendusMessage?.length).toBeLessThanOrEqual(201);
      await connectionClosed;
      expect(written).toBeLessThan(BODY_BYTES / 4);
    } finally {
      huge.closeAllConnections();
      await new Promise((resolve) => huge.close(resolve));
    }
  });

  it('holds its hard limit against a fetch that ignores the abort signal', async () => {
    const deaf = instanceWith({
      timeoutMs: 20_000,
      sendLimitMs: 50,
      retry: { attempts: 1 },
      // Never settles, whatever its signal says.
      fetch: () => new Promise<Response>(() => undefined),
    });
    const error = failure(await deaf.sendConversion({ token: freshTestToken() }));
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect(error.message).toContain('no answer within 50 ms');
    await deaf.close();
  });

  it('gives up after the configured attempts with a retryable SovendusUnavailableError', async () => {
    api.enqueue({ status: 500 }, { status: 502 }, { status: 500, body: { message: 'down' } });
    const result = await sovendus.sendConversion({ token: TEST_TOKEN });
    const error = failure(result);
    expect(error).toBeInstanceOf(SovendusUnavailableError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 500, retryable: true });
    expect(result).toMatchObject({ attempts: 3 });
    expect(api.calls).toHaveLength(3);
  });

  it('gives up a call that gets no answer at its hard limit', async () => {
    const single = instanceWith({
      timeoutMs: 20_000,
      sendLimitMs: 100,
      retry: { attempts: 1 },
    });
    api.enqueue('hang'); // never answers: only the limit can end the call
    const error = failure(await single.sendConversion({ token: TEST_TOKEN }));
    expect(error.message).toContain('no answer within 100 ms');
    expect(error.retryable).toBe(true);
    await single.close();
  });

  it('reads an answer that arrived while the event loop stalled past the timeout', async () => {
    // Answers at once, then blocks the process (a long GC, a busy shop) beyond the timeout:
    // the answer waits in the socket when the timer comes due.
    let calls = 0;
    const stalling = createServer((req, res) => {
      calls += 1;
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        const until = Date.now() + 200;
        while (Date.now() < until);
      });
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    const stalled = createSovendus({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      apiBaseUrl: `http://127.0.0.1:${(stalling.address() as AddressInfo).port}`,
      timeoutMs: 100,
      sendLimitMs: 100,
      retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 1 },
    });
    try {
      // Sovendus counted that answer: reading it, not retrying, keeps it one conversion.
      expect(await stalled.sendConversion({ token: freshTestToken() })).toMatchObject({
        status: 'sent',
        attempts: 1,
      });
      expect(calls).toBe(1);
    } finally {
      await stalled.close();
      stalling.closeAllConnections();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  it('reports a refused connection as UNAVAILABLE', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const offline = createSovendus({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      apiBaseUrl: `http://127.0.0.1:${port}`,
      retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 1 },
    });
    const result = await offline.sendConversion({ token: TEST_TOKEN });
    expect(failure(result)).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    expect(result).toMatchObject({ attempts: 2 });
  });

  it.each([
    ['a path traversal', '../../admin'],
    ['a slash', 'a/b'],
    ['a query', 'a?b=c'],
    ['a fragment', 'a#b'],
    ['an empty token', ''],
    ['a placeholder', 'null'],
    ['an overlong token', 'x'.repeat(500)],
  ])('never calls the API for %s', async (_label, token) => {
    const error = failure(await sovendus.sendConversion({ token }));
    expect(error).toMatchObject({ code: 'INVALID_TOKEN', retryable: false });
    expect(api.calls).toHaveLength(0);
  });

  it('rejects a product id that is not a UUID before calling', async () => {
    const error = failure(await sovendus.sendConversion({ token: TEST_TOKEN, productId: '../x' }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(api.calls).toHaveLength(0);
  });

  it('sends a token once, however often and concurrently it is submitted', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => sovendus.sendConversion({ token: TEST_TOKEN })),
    );
    expect(results.filter((result) => result.status === 'sent')).toHaveLength(1);
    expect(results.filter((result) => result.status === 'duplicate')).toHaveLength(4);
    expect(await sovendus.sendConversion({ token: TEST_TOKEN })).toMatchObject({
      status: 'duplicate',
    });
    expect(api.conversions).toHaveLength(1);
  });

  it('sends again after a failure: a failed send leaves no claim behind', async () => {
    api.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    expect((await sovendus.sendConversion({ token: TEST_TOKEN })).status).toBe('failed');
    expect((await sovendus.sendConversion({ token: TEST_TOKEN })).status).toBe('sent');
  });

  it('emits sent and failed events, and survives a listener that throws', async () => {
    const seen: string[] = [];
    sovendus.on('sent', (result) => seen.push(`sent ${result.token}`));
    sovendus.on('failed', (event) => seen.push(`failed ${event.error.code}`));
    sovendus.on('sent', () => {
      throw new Error('listener bug');
    });
    await sovendus.sendConversion({ token: TEST_TOKEN });
    await sovendus.sendConversion({ token: 'null' });
    expect(seen).toEqual([`sent ${TEST_TOKEN}`, 'failed INVALID_TOKEN']);
  });
});

describe('outages of the API', () => {
  it('rides out "fail N times, then recover"', async () => {
    api.failNext(2, { status: 503, headers: { 'retry-after': '0' } });
    expect(await sovendus.sendConversion({ token: freshTestToken() })).toMatchObject({
      status: 'sent',
      attempts: 3,
    });
  });

  it('reports an API that is down entirely, and sends once it is back', async () => {
    const token = freshTestToken();
    await api.goDown();
    try {
      expect(await sovendus.sendConversion({ token })).toMatchObject({
        status: 'failed',
        error: { code: 'UNAVAILABLE' },
      });
    } finally {
      await api.comeBack();
    }
    expect(await sovendus.sendConversion({ token })).toMatchObject({ status: 'sent' });
  });
});

describe('order ids', () => {
  const AUSTRIAN_PRODUCT = '1f0c2a4e-3b5d-4c6e-8f70-0123456789ab';

  it('converts the same order number once per product: two campaigns, two conversions', async () => {
    const both = await startFakeSovendusApi({ productIds: [PRODUCT_ID, AUSTRIAN_PRODUCT] });
    const shop = createSovendus({ productId: PRODUCT_ID, apiKey: API_KEY, apiBaseUrl: both.url });
    try {
      const orderId = '1001';
      const german = await shop.sendConversion({ token: freshTestToken(), orderId });
      const austrian = await shop.sendConversion({
        token: freshTestToken(),
        productId: AUSTRIAN_PRODUCT,
        orderId,
      });
      expect([german.status, austrian.status]).toEqual(['sent', 'sent']);
      // Within one product, the order stays one conversion.
      const again = await shop.sendConversion({ token: freshTestToken(), orderId });
      expect(again.status).toBe('duplicate');
      expect(both.conversions).toHaveLength(2);
    } finally {
      await shop.close();
      await both.close();
    }
  });

  it.each([
    ['a number beyond the safe integers', 2 ** 64],
    ['a fraction', 10.5],
    ['a control character', 'order\u0001-7'],
    ['a line break', 'order\n7'],
  ])('refuses %s before anything is claimed or sent', async (_what, orderId) => {
    const result = await sovendus.sendConversion({ token: freshTestToken(), orderId });
    // A bad order id is bad input, as it is for a coupon redemption, not a setup problem.
    expect(failure(result)).toMatchObject({ code: 'INVALID_INPUT' });
    expect(failure(result).message).toContain('orderId');
    expect(api.calls).toHaveLength(0);
  });

  it('keeps two large order ids apart when they come as strings', async () => {
    const results = await Promise.all(
      ['12345678901234567890', '12345678901234567891'].map((orderId) =>
        sovendus.sendConversion({ token: freshTestToken(), orderId }),
      ),
    );
    expect(results.map((result) => result.status)).toEqual(['sent', 'sent']);
  });
});
