import request from 'supertest';
import {
  createSovendus,
  type Sovendus,
  type SovendusEvents,
  type SovendusOptions,
} from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { nextTurn, recordingLogger } from './support/callbacks.js';
import { API_KEY, createShop, freshTestToken, PRODUCT_ID } from './support/shop.js';

// The shop's own callbacks (event listeners, logger methods) may throw or, being `async`,
// reject. Neither may reach the shop: a rejection nobody handles ends a Node process (and
// fails the jest test it happens in, which is how these tests would see it).

let api: FakeSovendusApi;
beforeAll(async () => {
  api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
});
afterAll(() => api.close());

const opened: Sovendus[] = [];
function instanceWith(options: Partial<SovendusOptions>): Sovendus {
  const instance = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    apiBaseUrl: api.url,
    timeoutMs: 10_000,
    ...options,
  });
  opened.push(instance);
  return instance;
}
afterEach(() => Promise.all(opened.splice(0).map((instance) => instance.close())));

/** A promise and the function that settles it, for waiting on a state. */
function signal<T = void>() {
  let fire: (value: T) => void = () => undefined;
  const fired = new Promise<T>((resolve) => (fire = resolve));
  return { fired, fire };
}

describe('an event listener', () => {
  it.each([
    [
      'throws',
      (error: Error) => () => {
        throw error;
      },
    ],
    ['returns a rejected promise (async)', (error: Error) => () => Promise.reject(error)],
    [
      'returns a thenable that rejects',
      (error: Error) => () => ({
        then: (_resolve: unknown, reject: (reason: unknown) => void) => {
          reject(error);
        },
      }),
    ],
  ])('that %s is logged at error level and ignored', async (_shape, listenerFailing) => {
    const { logged, logger } = recordingLogger();
    const sovendus = instanceWith({ logger });
    const error = new Error('the shop listener failed');
    const heard = signal();
    sovendus.on('sent', listenerFailing(error));
    sovendus.on('sent', () => {
      heard.fire(); // the next listener still hears the event
    });

    expect(await sovendus.sendConversion({ token: freshTestToken() })).toMatchObject({
      status: 'sent',
    });
    await heard.fired;
    // A rejection is handled a microtask or two after the listener returned: wait for the log.
    expect(await logged((line) => line.object.err === error)).toMatchObject({ level: 'error' });
    await nextTurn();
  });
});

describe('a logger method', () => {
  it('that throws is ignored', async () => {
    const called = signal();
    const sovendus = instanceWith({
      logger: {
        info: () => {
          called.fire();
          throw new Error('log sink down');
        },
      },
    });
    expect(await sovendus.sendConversion({ token: freshTestToken() })).toMatchObject({
      status: 'sent',
    });
    await called.fired;
  });

  it('that returns a rejected promise (async) is ignored, not an unhandled rejection', async () => {
    const rejected = signal();
    const sovendus = instanceWith({
      logger: {
        info: () => {
          rejected.fire();
          return Promise.reject(new Error('log sink down'));
        },
      },
    });
    expect(await sovendus.sendConversion({ token: freshTestToken() })).toMatchObject({
      status: 'sent',
    });
    await rejected.fired;
    // Node reports an unhandled rejection before the event loop's next turn.
    await nextTurn();
  });
});

describe('a callback that must answer at once, given as async', () => {
  // productId(req) and getSessionKey(req) run on every landing that carries a token, so they
  // are not awaited: a promise is refused with a clear error, and its rejection is not left
  // unhandled.
  it.each([
    ['productId', { productId: () => Promise.reject(new Error('no campaign for this host')) }],
    ['getSessionKey', { getSessionKey: () => Promise.reject(new Error('no session table')) }],
  ])('%s: the landing is served, failed says it must not be async', async (name, options) => {
    const { app, sovendus } = createShop({
      apiBaseUrl: api.url,
      ...(options as unknown as Partial<SovendusOptions>),
    });
    opened.push(sovendus);
    const failures: SovendusEvents['failed'][] = [];
    sovendus.on('failed', (event) => failures.push(event));
    await request(app).get(`/?sovReqToken=${freshTestToken()}`).expect(200, 'shop page');
    expect(failures).toMatchObject([{ stage: 'capture', error: { code: 'INVALID_CONFIG' } }]);
    expect(failures[0]?.error.message).toContain(`${name}(req) returned a promise`);
    await nextTurn(); // an unhandled rejection would be reported now, and fail this test
  });
});
