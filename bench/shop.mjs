// One benchmark shop, chosen by SCENARIO. Runs as its own process (pinned to one CPU by run.mjs)
// and prints "READY <port>" once it listens.
import express from 'express';
import session from 'express-session';
import Redis from 'ioredis';
import { createSovendus, RedisTokenStore } from 'sovendus-express';
import { telemetry } from './otel-mode.mjs';
import { API_KEY, naiveCapture, naiveCheckout, PRODUCT_ID } from './naive.mjs';

const { SCENARIO, REDIS_URL, API_URL, PREFIX } = process.env;
const PAGE = '<!doctype html><title>Shop</title><p>A small page.</p>';

const redis = new Redis(REDIS_URL);
const visitorKey = (req) => req.headers['x-visitor'];

const app = express();
const sessions = (saveUninitialized) =>
  session({ secret: 'bench', resave: false, saveUninitialized });

// Under valgrind (bench/instructions.mjs) the shop runs some 50 times slower: its deadlines
// are stretched to match, or store calls would miss them and be counted as cheap failures.
const SLOW = process.env.BENCH_SLOW === '1' && {
  timeoutMs: 60_000,
  sendLimitMs: 120_000,
  storeTimeoutMs: 60_000,
};

// Voucher links on, as in a shop with both: the capture looks for sovCouponCode too, and the
// no-token row measures what that costs a request that carries neither.
function sovendus(options = {}) {
  const instance = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    apiBaseUrl: API_URL,
    coupons: { trafficSourceNumber: 1234, apiBaseUrl: API_URL },
    store: new RedisTokenStore({ client: redis, prefix: PREFIX }),
    telemetry,
    ...SLOW,
    ...options,
  });
  // A capture or checkout that failed did less work than one that succeeded: a run with one
  // measured something else, so it ends here rather than report a flattering ratio.
  instance.on('failed', ({ stage, error }) => {
    console.error(`shop ${SCENARIO}: ${stage} failed: ${error.code} ${error.message}`);
    process.exit(3);
  });
  return instance;
}

switch (SCENARIO) {
  case 'baseline':
    app.use(sessions(false));
    break;
  case 'capture-no-token':
    app.use(sessions(false));
    app.use(sovendus().capture());
    break;
  case 'capture-token':
    app.use(sessions(true));
    app.use(sovendus().capture());
    break;
  case 'naive-token':
    // The protocol doc's own snippet.
    app.use(sessions(true));
    app.use(async (req, _res, next) => {
      await naiveCapture(redis, req.sessionID, req.query.sovReqToken);
      next();
    });
    break;
  case 'checkout-ours': {
    const instance = sovendus({ getSessionKey: visitorKey });
    app.use(instance.capture());
    app.post('/checkout', async (req, res) => {
      const result = await req.sovendus.complete();
      res.json({ status: result.status });
    });
    break;
  }
  case 'checkout-naive':
    app.post('/checkout', async (req, res) => {
      res.json({ status: await naiveCheckout(redis, API_URL, visitorKey(req)) });
    });
    break;
  default:
    throw new Error(`unknown SCENARIO ${SCENARIO}`);
}

app.get('/{*path}', (_req, res) => {
  res.send(PAGE);
});

const server = app.listen(0, '127.0.0.1', () => {
  console.log(`READY ${server.address().port}`);
});
process.on('SIGTERM', () => {
  server.close();
  redis.disconnect();
  process.exit(0);
});
