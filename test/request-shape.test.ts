import connect from 'connect';
import express from 'express';
import express4 from 'express4';
import session from 'express-session';
import type { IncomingMessage, ServerResponse } from 'node:http';
import request from 'supertest';
import { createSovendus, type Sovendus, type SovendusRequestContext } from '../src/index.js';
import { carriedKeys } from '../src/middleware/carried-keys.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { API_KEY, describeResult, freshTestToken, PRODUCT_ID } from './support/shop.js';

/*
 * Express sets each request's prototype (`Object.setPrototypeOf(req, app.request)`), and V8
 * shares no hidden classes between objects whose prototype was set that way: every property a
 * middleware adds to such a request copies its whole hidden class, on every request. So the
 * capture adds none to an Express request, and `req.sovendus` still works wherever the request
 * goes.
 */

const OTHER_PRODUCT_ID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

let api: FakeSovendusApi;
beforeAll(async () => {
  api = await startFakeSovendusApi({ apiKey: API_KEY });
});
afterAll(() => api.close());

const sovendusFor = (productId = PRODUCT_ID): Sovendus =>
  createSovendus({ productId, apiKey: API_KEY, apiBaseUrl: api.url });

const sessions = () => session({ secret: 'test', resave: false, saveUninitialized: false });

/** The request's own keys before the capture ran (kept off the request itself). */
const keysBefore = new WeakMap<IncomingMessage, Set<string | symbol>>();

/** Answers with the own properties the capture added to the request. */
function shapeShop(make: typeof express, sovendus: Sovendus) {
  const app = make();
  app.use(sessions());
  app.use((req, _res, next) => {
    keysBefore.set(req, new Set(Reflect.ownKeys(req)));
    next();
  });
  app.use(sovendus.capture());
  app.use((req, res) => {
    const added = Reflect.ownKeys(req).filter((key) => !keysBefore.get(req)?.has(key));
    res.json({ added: added.map(String), hasContext: typeof req.sovendus.complete });
  });
  return app;
}

it.each([
  ['Express 5', express],
  ['Express 4', express4],
] as const)('in %s, the capture adds no property to the request', async (_name, make) => {
  const visitor = request.agent(shapeShop(make, sovendusFor()));
  const expected = { added: [], hasContext: 'function' };
  expect((await visitor.get('/plain')).body).toEqual(expected);
  expect((await visitor.get(`/landing?sovReqToken=${freshTestToken()}`)).body).toEqual(expected);
  // A later page of a visitor whose session holds a token.
  expect((await visitor.get('/next')).body).toEqual(expected);
});

it('carries the key of a token holder only while its response is open', async () => {
  const seen: IncomingMessage[] = [];
  const app = express();
  app.use(sessions());
  app.use(sovendusFor().capture());
  app.use((req, res) => {
    seen.push(req);
    res.json({ carried: carriedKeys.has(req) });
  });
  const visitor = request.agent(app);
  await visitor.get(`/landing?sovReqToken=${freshTestToken()}`).expect(200, { carried: true });
  await visitor.get('/next').expect(200, { carried: true });
  expect(seen.map((req) => carriedKeys.has(req))).toEqual([false, false]);
});

it('reaches a checkout in a mounted sub-app', async () => {
  const sovendus = sovendusFor();
  const app = express();
  app.use(sessions());
  app.use(sovendus.capture());
  const shop = express();
  shop.post('/checkout', async (req, res) => {
    res.json(describeResult(await req.sovendus.complete()));
  });
  app.use('/shop', shop);
  app.get('/{*path}', (_req, res) => {
    res.send('page');
  });
  const token = freshTestToken();
  const visitor = request.agent(app);
  await visitor.get(`/?sovReqToken=${token}`).expect(200);
  expect((await visitor.post('/shop/checkout')).body).toMatchObject({ status: 'sent', token });
});

it('with two instances on one app, req.sovendus is the first capture that ran', async () => {
  const first = sovendusFor(PRODUCT_ID);
  const second = sovendusFor(OTHER_PRODUCT_ID);
  const app = express();
  app.use(sessions());
  app.use('/de', first.capture());
  app.use(second.capture());
  app.use(first.capture());
  app.post('/{*path}', async (req, res) => {
    res.json(describeResult(await req.sovendus.complete()));
  });
  app.get('/{*path}', (_req, res) => {
    res.send('page');
  });

  // Both captures ran, the first one under /de first: the first instance converts.
  const deToken = freshTestToken();
  const de = request.agent(app);
  await de.get(`/de/landing?sovReqToken=${deToken}`).expect(200);
  expect((await de.post('/de/checkout')).body).toMatchObject({ status: 'sent', token: deToken });
  // Elsewhere the second capture runs first: the second instance converts.
  const atToken = freshTestToken();
  const at = request.agent(app);
  await at.get(`/landing?sovReqToken=${atToken}`).expect(200);
  expect((await at.post('/checkout')).body).toMatchObject({ status: 'sent', token: atToken });

  const productOf = (token: string) => api.calls.find((call) => call.token === token)?.productId;
  expect(productOf(deToken)).toBe(PRODUCT_ID);
  expect(productOf(atToken)).toBe(OTHER_PRODUCT_ID);
});

it('keeps a req.sovendus the shop set itself', async () => {
  const own = { marker: 'the shop' } as unknown as SovendusRequestContext;
  const app = express();
  app.use(sessions());
  app.use((req, _res, next) => {
    req.sovendus = own;
    next();
  });
  app.use(sovendusFor().capture());
  app.get('/{*path}', (req, res) => {
    res.json(req.sovendus);
  });
  expect((await request(app).get('/')).body).toEqual({ marker: 'the shop' });
});

it('still sets req.sovendus on a plain Node request (Connect)', async () => {
  const app = connect();
  app.use(sessions() as connect.NextHandleFunction);
  app.use(sovendusFor().capture());
  app.use((req: IncomingMessage & { sovendus?: SovendusRequestContext }, res: ServerResponse) => {
    res.end(typeof req.sovendus?.getToken);
  });
  expect((await request(app).get('/')).text).toBe('function');
});
