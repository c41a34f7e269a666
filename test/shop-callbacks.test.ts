import request from 'supertest';
import type { DeliveryQueue, Sovendus, SovendusEvents, SovendusOptions } from '../src/index.js';
import { nextTurn, recordingLogger } from './support/callbacks.js';
import { instancesClosedAfterEach, useFakeApi } from './support/fixtures.js';
import { createShop, freshTestToken } from './support/shop.js';

// The shop's own callbacks (event listeners, logger methods) may throw or, being `async`,
// reject. Neither may reach the shop: a rejection nobody handles ends a Node process (and
// fails the jest test it happens in, which is how these tests would see it).

const fixture = useFakeApi();
const { instanceWith, closeAfter } = instancesClosedAfterEach(() => fixture.api.url);

/** A promise and the function that settles it, for waiting on a state. */
function signal<T = void>() {
  let fire: (value: T) => void = () => undefined;
  const fired = new Promise<T>((resolve) => (fire = resolve));
  return { fired, fire };
}

/** The ways a callback can fail: a throw, and a rejection of what it returns. */
const FAILING: [string, (error: Error) => () => unknown][] = [
  [
    'throws',
    (error) => () => {
      throw error;
    },
  ],
  ['returns a rejected promise (async)', (error) => () => Promise.reject(error)],
  [
    'returns a thenable that rejects',
    (error) => () => ({
      then: (_resolve: unknown, reject: (reason: unknown) => void) => {
        reject(error);
      },
    }),
  ],
];

/** A conversion that goes through, on an instance with `options`. */
const sendOne = (options: Partial<SovendusOptions>, listen: (sovendus: Sovendus) => void) => {
  const sovendus = instanceWith({ timeoutMs: 10_000, ...options });
  listen(sovendus);
  return sovendus.sendConversion({ token: freshTestToken() });
};

describe('an event listener', () => {
  it.each(FAILING)('that %s is logged at error level and ignored', async (_shape, failing) => {
    const { logged, logger } = recordingLogger();
    const error = new Error('the shop listener failed');
    const heard = signal();
    const sending = sendOne({ logger }, (sovendus) => {
      sovendus.on('sent', failing(error));
      sovendus.on('sent', () => {
        heard.fire(); // the next listener still hears the event
      });
    });

    expect(await sending).toMatchObject({ status: 'sent' });
    await heard.fired;
    // A rejection is handled a microtask or two after the listener returned: wait for the log.
    expect(await logged((line) => line.object.err === error)).toMatchObject({ level: 'error' });
    await nextTurn(); // an unhandled rejection would be reported now, and fail this test
  });
});

describe('a logger method', () => {
  it.each(FAILING)('that %s is ignored', async (_shape, failing) => {
    const called = signal();
    const fail = failing(new Error('log sink down'));
    const logger = {
      info: () => {
        called.fire();
        return fail();
      },
    };
    const sending = sendOne({ logger }, () => undefined);
    expect(await sending).toMatchObject({ status: 'sent' });
    await called.fired;
    await nextTurn(); // an unhandled rejection would be reported now, and fail this test
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
      apiBaseUrl: fixture.api.url,
      ...(options as unknown as Partial<SovendusOptions>),
    });
    closeAfter(sovendus);
    const failures: SovendusEvents['failed'][] = [];
    sovendus.on('failed', (event) => failures.push(event));
    await request(app).get(`/?sovReqToken=${freshTestToken()}`).expect(200, 'shop page');
    expect(failures).toMatchObject([{ stage: 'capture', error: { code: 'INVALID_CONFIG' } }]);
    expect(failures[0]?.error.message).toContain(`${name}(req) returned a promise`);
    await nextTurn(); // an unhandled rejection would be reported now, and fail this test
  });
});

describe("a custom queue's startWorker", () => {
  // A DeliveryQueue is the shop's own code too; `async startWorker()` is the natural thing to
  // write, and its rejection must not end the process.
  it.each(FAILING.slice(1))('that %s is logged at error level', async (_shape, failing) => {
    const { logged, logger } = recordingLogger();
    const error = new Error('the queue could not connect');
    const queue: DeliveryQueue = {
      enqueue: () => Promise.resolve(),
      startWorker: failing(error) as DeliveryQueue['startWorker'],
      close: () => Promise.resolve(),
    };
    instanceWith({ queue, logger });
    expect(await logged((line) => line.object.err === error)).toMatchObject({ level: 'error' });
    await nextTurn(); // an unhandled rejection would be reported now, and fail this test
  });
});
