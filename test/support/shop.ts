import type { IncomingMessage } from 'node:http';
import express, { type Express } from 'express';
import session from 'express-session';
import request from 'supertest';
import {
  createSovendus,
  type ConversionResult,
  type Sovendus,
  type SovendusOptions,
} from '../../src/index.js';

export const PRODUCT_ID = '9bc72425-902c-3abf-9db8-8b186d7cb160';
export const API_KEY = 'ABCD-EFGHI-JKLMNO-PQR';
export const TEST_TOKEN = '12345-test-123-12345';

const digits = (count: number) =>
  Array.from({ length: count }, () => Math.floor(Math.random() * 10)).join('');

/** A token of Sovendus' test shape that no other test uses (a sent token never converts again). */
export function freshTestToken(): string {
  return `${digits(5)}-test-${digits(3)}-${digits(5)}`;
}

/**
 * A visitor (a supertest agent, cookies kept) who landed on `app` with a fresh test token; the
 * app's pages answer `shop page`.
 */
export async function landWithFreshToken(app: Express) {
  const token = freshTestToken();
  const visitor = request.agent(app);
  await visitor.get(`/?sovReqToken=${token}`).expect(200, 'shop page');
  return { visitor, token };
}

/** A result as JSON, with the error reduced to what a shop would show. */
export function describeResult(result: ConversionResult | undefined) {
  if (result?.status !== 'failed') return result;
  const { error, ...rest } = result;
  return { ...rest, error: { code: error.code, status: error.status, message: error.message } };
}

export interface ShopOptions extends Partial<SovendusOptions> {
  saveUninitialized?: boolean;
}

/**
 * The smallest shop that uses the package as the README says: session, capture on every
 * request, convert on checkout, and a route that calls `req.sovendus.complete()` itself.
 * `routes` adds a test's own, before the shop's pages.
 */
export function createShop(
  options: ShopOptions,
  routes: (app: Express) => void = () => undefined,
): { app: Express; sovendus: Sovendus } {
  const { saveUninitialized = false, ...sovendusOptions } = options;
  const sovendus = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    // Generous waits: tests count outcomes, and a busy machine must not turn a slow answer
    // into a timeout. Tests of the bounds set their own (and prove them by state).
    storeTimeoutMs: 10_000,
    timeoutMs: 10_000,
    ...sovendusOptions,
  });
  const app = express();
  app.use(express.json());
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized }));
  app.use(sovendus.capture());
  app.post(
    '/checkout',
    sovendus.convert({
      orderId: (req: IncomingMessage) =>
        ((req as express.Request).body as { orderId?: string } | undefined)?.orderId,
    }),
    (_req, res) => {
      res.json(describeResult(res.locals.sovendus));
    },
  );
  app.post('/complete', async (req, res) => {
    const body = req.body as { orderId?: string } | undefined;
    res.json(describeResult(await req.sovendus.complete({ orderId: body?.orderId })));
  });
  app.post('/complete-order', async (req, res) => {
    const body = req.body as { orderId?: string } | undefined;
    const { conversion } = await req.sovendus.completeOrder({ orderId: body?.orderId ?? '' });
    res.json(describeResult(conversion));
  });
  app.post('/forget', async (req, res) => {
    await req.sovendus.forget();
    res.send('forgotten');
  });
  app.get('/token', async (req, res) => {
    res.json({ token: (await req.sovendus.getToken()) ?? null });
  });
  app.get('/coupon', async (req, res) => {
    res.json({ couponCode: (await req.sovendus.getCouponCode()) ?? null });
  });
  routes(app);
  app.all('/{*path}', (_req, res) => {
    res.send('shop page');
  });
  return { app, sovendus };
}
