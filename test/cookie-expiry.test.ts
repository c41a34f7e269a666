import connect from 'connect';
import express from 'express';
import session from 'express-session';
import type { IncomingMessage, ServerResponse } from 'node:http';
import request from 'supertest';
import { createSovendus, type SovendusRequestContext } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { connectTestRedis, type TestRedis } from './support/redis.js';
import { API_KEY, createShop, freshTestToken, PRODUCT_ID } from './support/shop.js';

/*
 * A conversion that is sent expires the browser script's `sovReqToken` cookie on the same
 * response, with the attributes the script set it with, so that its pixel cannot report the
 * conversion a second time.
 */

const EXPIRED = 'sovReqToken=; Max-Age=0; Path=/; Domain=shop.example; Secure; SameSite=Strict';

let redis: TestRedis;
let api: FakeSovendusApi;
beforeAll(async () => {
  redis = connectTestRedis();
  api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
});
afterAll(async () => {
  await api.close();
  await redis.close();
});

const shop = (options: { browserCookie?: boolean } = {}) =>
  createShop({ store: redis.store, apiBaseUrl: api.url, ...options });

const setCookies = (response: request.Response): string[] =>
  (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];

describe('after a sent conversion', () => {
  it.each(['/checkout', '/complete', '/complete-order'])(
    'the response to %s expires the cookie, and so does a duplicate',
    async (route) => {
      const { app } = shop();
      const visitor = request.agent(app);
      const token = freshTestToken();
      await visitor.get('/').set('Host', 'shop.example').set('Cookie', `sovReqToken=${token}`);
      const sent = await visitor
        .post(route)
        .set('Host', 'shop.example:8080')
        .set('Cookie', `sovReqToken=${token}`)
        .send({ orderId: `o-${token}` });
      expect(sent.body).toMatchObject({ status: 'sent', token });
      expect(setCookies(sent)).toContain(EXPIRED);

      // Sent before: a second checkout of the same order is a duplicate, and expires it too.
      await visitor.get(`/?sovReqToken=${token}`).set('Host', 'shop.example');
      const again = await visitor
        .post(route)
        .set('Host', 'shop.example')
        .send({ orderId: `o-${token}` });
      expect(again.body).toMatchObject({ status: 'duplicate' });
      expect(setCookies(again)).toContain(EXPIRED);
    },
  );

  it('keeps the Set-Cookie headers the shop set before', async () => {
    const { app } = shop();
    const outer = express();
    outer.use((_req, res, next) => {
      res.cookie('shop', 'own');
      next();
    });
    outer.use(app);
    const visitor = request.agent(outer);
    await visitor.get(`/?sovReqToken=${freshTestToken()}`).set('Host', 'shop.example');
    const sent = await visitor.post('/checkout').set('Host', 'shop.example');
    expect(sent.body).toMatchObject({ status: 'sent' });
    expect(setCookies(sent)).toEqual(expect.arrayContaining([EXPIRED, 'shop=own; Path=/']));
  });

  it('does not touch the cookie when nothing was sent, or with browserCookie: false', async () => {
    const { app } = shop();
    const none = await request(app).post('/checkout').set('Host', 'shop.example');
    expect(none.body).toEqual({ status: 'no_token' });
    expect(setCookies(none)).not.toContain(EXPIRED);

    const off = shop({ browserCookie: false });
    const visitor = request.agent(off.app);
    await visitor.get(`/?sovReqToken=${freshTestToken()}`).set('Host', 'shop.example');
    const sent = await visitor.post('/checkout').set('Host', 'shop.example');
    expect(sent.body).toMatchObject({ status: 'sent' });
    expect(setCookies(sent)).not.toContain(EXPIRED);
  });

  it('leaves out a Domain that cannot be one (an IPv6 host, a hostile Host header)', async () => {
    const { app } = shop();
    for (const host of ['[::1]:3000', 'evil.example; Domain=other']) {
      const visitor = request.agent(app);
      await visitor.get(`/?sovReqToken=${freshTestToken()}`);
      const sent = await visitor.post('/checkout').set('Host', host);
      expect(sent.body).toMatchObject({ status: 'sent' });
      expect(setCookies(sent)).toContain(
        'sovReqToken=; Max-Age=0; Path=/; Secure; SameSite=Strict',
      );
    }
  });

  it('expires it under Connect too, where the request has no res of its own', async () => {
    const sovendus = createSovendus({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      apiBaseUrl: api.url,
    });
    const app = connect();
    app.use(
      session({
        secret: 't',
        resave: false,
        saveUninitialized: false,
      }) as connect.NextHandleFunction,
    );
    app.use(sovendus.capture());
    app.use((req: IncomingMessage, res: ServerResponse) => {
      if (req.method !== 'POST') {
        res.end('page');
        return;
      }
      const { sovendus: context } = req as IncomingMessage & { sovendus: SovendusRequestContext };
      void context.complete().then((result) => res.end(result.status));
    });
    const visitor = request.agent(app);
    await visitor.get(`/?sovReqToken=${freshTestToken()}`).set('Host', 'shop.example');
    const sent = await visitor.post('/checkout').set('Host', 'shop.example');
    expect(sent.text).toBe('sent');
    expect(setCookies(sent)).toContain(EXPIRED);
  });

  it('does nothing once the headers are sent', async () => {
    const sovendus = createSovendus({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      apiBaseUrl: api.url,
    });
    const app = express();
    app.use(session({ secret: 't', resave: false, saveUninitialized: false }));
    app.use(sovendus.capture());
    app.post('/late', async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('working... ');
      res.end((await req.sovendus.complete()).status);
    });
    app.get('/', (_req, res) => {
      res.send('page');
    });
    const visitor = request.agent(app);
    await visitor.get(`/?sovReqToken=${freshTestToken()}`).set('Host', 'shop.example');
    const sent = await visitor.post('/late').set('Host', 'shop.example');
    expect(sent.text).toBe('working... sent');
    expect(setCookies(sent)).not.toContain(EXPIRED);
  });

  it('never breaks complete(): a response stand-in without header methods is left alone', async () => {
    const sovendus = createSovendus({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      apiBaseUrl: api.url,
      getSessionKey: (req) => req.headers['x-visitor'] as string | undefined,
    });
    const capture = sovendus.capture();
    const visitor = `v-${freshTestToken()}`;
    // As a test harness or a framework adapter may call the middleware: a bare object as res.
    const landing = { url: `/?sovReqToken=${freshTestToken()}`, headers: { 'x-visitor': visitor } };
    const checkout = { url: '/checkout', headers: { 'x-visitor': visitor } };
    const stand = { end: () => undefined } as unknown as ServerResponse;
    for (const req of [landing, checkout]) {
      await new Promise<void>((next) => {
        capture(req as unknown as IncomingMessage, stand, () => {
          next();
        });
      });
    }
    const { sovendus: context } = checkout as unknown as { sovendus: SovendusRequestContext };
    await expect(context.complete()).resolves.toMatchObject({ status: 'sent' });
  });
});
