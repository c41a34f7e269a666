import type { IncomingMessage } from 'node:http';
import express, { type ErrorRequestHandler, type Express } from 'express';
import session from 'express-session';
import request from 'supertest';
import {
  createSovendus,
  MemoryTokenStore,
  type Sovendus,
  type SovendusEvents,
  type SovendusOptions,
} from '../src/index.js';
import { API_KEY, describeResult, PRODUCT_ID, TEST_TOKEN } from './support/shop.js';

/**
 * A request can carry a token and still have no `req.session`: express-session leaves it unset
 * outside its `cookie.path` and while its store is disconnected, and a shop may have forgotten
 * the session middleware. None of these may cost the visitor the page: the capture is skipped,
 * the setup problem is logged once per instance at error level, and `failed` is emitted.
 */
interface Logged {
  level: string;
  message: string;
}

function instrumented(options: Partial<SovendusOptions> = {}) {
  const logged: Logged[] = [];
  const logAt = (level: string) => (_fields: object, message: string) => {
    logged.push({ level, message });
  };
  const sovendus = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    store: new MemoryTokenStore(),
    logger: { debug: logAt('debug'), warn: logAt('warn'), error: logAt('error') },
    ...options,
  });
  const failed: SovendusEvents['failed'][] = [];
  sovendus.on('failed', (event) => failed.push(event));
  return { sovendus, logged, failed, errors: () => logged.filter((l) => l.level === 'error') };
}

/** Capture on every request, the usual routes, and an error handler that records any error. */
function shop(sovendus: Sovendus, before: express.RequestHandler[] = []) {
  const passedOn: unknown[] = [];
  const app = express();
  for (const middleware of before) app.use(middleware);
  app.use(sovendus.capture());
  app.get('/token', async (req, res) => {
    res.json({ token: (await req.sovendus.getToken()) ?? null });
  });
  app.post('/checkout', async (req, res) => {
    res.json(describeResult(await req.sovendus.complete()));
  });
  app.get('/{*path}', (_req, res) => {
    res.send('page');
  });
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    passedOn.push(error);
    res.status(500).send('error page');
  };
  app.use(onError);
  return { app, passedOn };
}

async function expectServed(app: Express, url: string) {
  const response = await request(app).get(url);
  expect({ status: response.status, text: response.text }).toEqual({ status: 200, text: 'page' });
  return response;
}

describe('a tokened request without a session', () => {
  it('is served when no session middleware is mounted; the setup is logged once, naming express-session', async () => {
    const { sovendus, logged, failed, errors } = instrumented();
    const { app, passedOn } = shop(sovendus);
    await expectServed(app, `/landing?sovReqToken=${TEST_TOKEN}`);
    await expectServed(app, `/other?sovReqToken=${TEST_TOKEN}`);
    await expectServed(app, `/?sovReqToken=${TEST_TOKEN}`);

    expect(passedOn).toEqual([]);
    expect(errors()).toHaveLength(1);
    expect(errors()[0]?.message).toContain('add express-session');
    expect(failed).toHaveLength(3);
    for (const event of failed) {
      expect(event).toMatchObject({ stage: 'capture', token: TEST_TOKEN });
      expect(event.error).toMatchObject({ name: 'SovendusConfigError', code: 'INVALID_CONFIG' });
    }
    expect(logged.map((l) => l.message).join('\n')).not.toContain(TEST_TOKEN);
  });

  it('keeps the typed answers: getToken() is undefined, complete() is failed INVALID_CONFIG', async () => {
    const { sovendus, errors } = instrumented();
    const { app, passedOn } = shop(sovendus);
    await request(app).get('/token').expect(200, { token: null });
    const checkout = await request(app).post('/checkout').expect(200);
    expect(checkout.body).toMatchObject({ status: 'failed', error: { code: 'INVALID_CONFIG' } });
    expect(passedOn).toEqual([]);
    // The setup hint once (from getToken); the checkout logs its own failed result besides.
    const hints = errors().filter((l) => l.message.startsWith('sovendus: sovendus-express found'));
    expect(hints).toHaveLength(1);
  });

  it('logs once per instance, not once per process', async () => {
    const first = instrumented();
    const second = instrumented();
    for (const { sovendus } of [first, second]) {
      await expectServed(shop(sovendus).app, `/?sovReqToken=${TEST_TOKEN}`);
    }
    expect(first.errors()).toHaveLength(1);
    expect(second.errors()).toHaveLength(1);
  });

  it("is served outside express-session's cookie.path, without a cookie", async () => {
    const { sovendus, failed, errors } = instrumented();
    const { app, passedOn } = shop(sovendus, [
      session({ secret: 's', resave: false, saveUninitialized: false, cookie: { path: '/shop' } }),
    ]);
    const outside = await expectServed(app, `/landing?sovReqToken=${TEST_TOKEN}`);
    expect(outside.headers['set-cookie']).toBeUndefined();
    expect(passedOn).toEqual([]);
    expect(failed).toMatchObject([{ stage: 'capture', error: { code: 'INVALID_CONFIG' } }]);
    expect(errors()[0]?.message).toContain('cookie.path');

    // Inside the path, the capture works as ever.
    const inside = await expectServed(app, `/shop/landing?sovReqToken=${TEST_TOKEN}`);
    expect(inside.headers['set-cookie']).toBeDefined();
  });

  it('is served while the session store is disconnected, and captured once it reconnects', async () => {
    const store = new session.MemoryStore();
    const { sovendus, failed, errors } = instrumented();
    const { app, passedOn } = shop(sovendus, [
      session({ store, secret: 's', resave: false, saveUninitialized: false }),
    ]);
    store.emit('disconnect');
    await expectServed(app, `/?sovReqToken=${TEST_TOKEN}`);
    expect(passedOn).toEqual([]);
    expect(failed).toHaveLength(1);
    expect(errors()[0]?.message).toContain('disconnected');

    store.emit('connect');
    const visitor = request.agent(app);
    await visitor.get(`/?sovReqToken=${TEST_TOKEN}`).expect(200, 'page');
    await visitor.get('/token').expect(200, { token: TEST_TOKEN });
    expect(failed).toHaveLength(1);
  });
});

describe('a getSessionKey that throws', () => {
  const throwing = (thrown: unknown) => ({
    getSessionKey: (_req: IncomingMessage): string | undefined => {
      throw thrown;
    },
  });

  it.each([
    ['an Error', new Error('session table is gone')],
    ['undefined', undefined],
    ['a string', 'nope'],
  ])('does not cost the landing its page (%s)', async (_label, thrown) => {
    const { sovendus, failed, errors } = instrumented(throwing(thrown));
    const { app, passedOn } = shop(sovendus);
    await expectServed(app, `/?sovReqToken=${TEST_TOKEN}`);
    await expectServed(app, `/?sovReqToken=${TEST_TOKEN}`);
    expect(passedOn).toEqual([]);
    expect(failed).toHaveLength(2);
    expect(failed[0]).toMatchObject({ stage: 'capture', error: { code: 'INVALID_CONFIG' } });
    expect(failed[0]?.error.message).toContain('getSessionKey threw');
    expect(errors()).toHaveLength(1);
    await request(app).get('/token').expect(200, { token: null });
  });

  it('does not cost the landing its page when it returns something other than a string', async () => {
    const { sovendus, failed } = instrumented({
      getSessionKey: () => 42 as unknown as string,
    });
    const { app, passedOn } = shop(sovendus);
    await expectServed(app, `/?sovReqToken=${TEST_TOKEN}`);
    expect(passedOn).toEqual([]);
    expect(failed).toMatchObject([{ stage: 'capture', error: { code: 'INVALID_CONFIG' } }]);
  });
});
