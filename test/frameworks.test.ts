import connect from 'connect';
import express4 from 'express4';
import session from 'express-session';
import type { ServerResponse } from 'node:http';
import request from 'supertest';
import {
  createSovendus,
  sovendusCapture,
  sovendusConvert,
  type ConversionResult,
  type Sovendus,
} from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { API_KEY, describeResult, freshTestToken, PRODUCT_ID } from './support/shop.js';

let api: FakeSovendusApi;
let sovendus: Sovendus;
beforeAll(async () => {
  api = await startFakeSovendusApi({ apiKey: API_KEY });
});
afterAll(() => api.close());
beforeEach(() => {
  sovendus = createSovendus({ productId: PRODUCT_ID, apiKey: API_KEY, apiBaseUrl: api.url });
});

const sessions = () => session({ secret: 'test', resave: false, saveUninitialized: false });

it('works in an Express 4 app', async () => {
  const app = express4();
  app.use(sessions());
  app.use(sovendus.capture());
  app.post('/checkout', sovendus.convert(), (_req, res) => {
    res.json(describeResult((res.locals as { sovendus?: ConversionResult }).sovendus));
  });
  app.get('*', (_req, res) => {
    res.send('page');
  });
  const token = freshTestToken();
  const visitor = request.agent(app);
  await visitor.get(`/landing?sovReqToken=${token}`).expect(200, 'page');
  expect((await visitor.post('/checkout')).body).toMatchObject({ status: 'sent', token });
});

it('works in a plain Connect app, which has no req.query and no res.locals', async () => {
  const app = connect();
  app.use(sessions() as connect.NextHandleFunction);
  app.use(sovendus.capture());
  app.use('/checkout', sovendus.convert());
  app.use((_req, res: ServerResponse & { locals?: { sovendus?: ConversionResult } }) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(describeResult(res.locals?.sovendus) ?? { page: true }));
  });
  const token = freshTestToken();
  const visitor = request.agent(app);
  expect((await visitor.get(`/landing?sovReqToken=${token}`)).body).toEqual({ page: true });
  expect((await visitor.post('/checkout')).body).toMatchObject({ status: 'sent', token });
});

it('offers one-line forms that share one instance (and so one memory store) per options object', async () => {
  const options = { productId: PRODUCT_ID, apiKey: API_KEY, apiBaseUrl: api.url };
  const app = express4();
  app.use(sessions());
  app.use(sovendusCapture(options));
  app.post('/checkout', sovendusConvert(options), (_req, res) => {
    res.json(describeResult((res.locals as { sovendus?: ConversionResult }).sovendus));
  });
  app.get('*', (_req, res) => {
    res.send('page');
  });
  const token = freshTestToken();
  const visitor = request.agent(app);
  await visitor.get(`/?sovReqToken=${token}`);
  expect((await visitor.post('/checkout')).body).toMatchObject({ status: 'sent', token });
});
