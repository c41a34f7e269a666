// The middleware's own CPU cost per call, without the HTTP stack around it: one process (pinned
// by run.mjs to the shops' CPU), the same Redis and fake API as the HTTP comparisons. Each pair
// is measured in interleaved rounds (reference, ours, reference, ...) of `calls` calls, 8 at a
// time, enough for the CPU clock's resolution; a round's cost is its process CPU time over its calls. Prints one JSON line.
import session from 'express-session';
import Redis from 'ioredis';
import { createSovendus, RedisTokenStore } from 'sovendus-express';
import { telemetry } from './otel-mode.mjs';
import { API_KEY, naiveCapture, naiveCheckout, PRODUCT_ID, TTL } from './naive.mjs';

const { REDIS_URL, API_URL } = process.env;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 16);
const CONCURRENCY = 8;
const PREFIX = 'bench-in-process:';
const CHECKOUTS = 2_000;

const redis = new Redis(REDIS_URL);
const store = new RedisTokenStore({ client: redis, prefix: PREFIX });
// Voucher links on, as in bench/shop.mjs: the no-token row measures the look for both names.
const options = {
  productId: PRODUCT_ID,
  apiKey: API_KEY,
  apiBaseUrl: API_URL,
  coupons: { trafficSourceNumber: 1234, apiBaseUrl: API_URL },
  store,
  telemetry,
};
const capture = createSovendus(options).capture();
const checkoutCapture = createSovendus({
  ...options,
  getSessionKey: (req) => req.headers['x-visitor'],
}).capture();

let serial = 0;
/** A request as express-session leaves it: a real Session object, a 30-day cookie. */
function landing(query) {
  serial += 1;
  const req = { url: `/products?page=2${query(serial)}`, sessionID: `sid-${serial}`, headers: {} };
  req.session = new session.Session(req, { cookie: { originalMaxAge: TTL * 1000 } });
  return req;
}
// A response with the one method the capture may wrap (it carries a token's key to the session
// the request ends with), ended once the middleware is done, as the page would end it.
function run(middleware, req) {
  const res = { end() {} };
  return new Promise((resolve) => {
    middleware(req, res, () => {
      res.end();
      resolve();
    });
  });
}

const noop = (_req, _res, next) => next();
const noToken = () => landing(() => '');
const withToken = () => landing((n) => `&sovReqToken=bench-${n}-tok`);

async function oursCheckout(visitor) {
  const req = { url: '/checkout', headers: { 'x-visitor': visitor } };
  await run(checkoutCapture, req);
  const result = await req.sovendus.complete();
  if (result.status !== 'sent') throw new Error(`checkout: ${result.status}`);
}

/** Visitors who landed, for one round of checkouts on each side. */
async function seedVisitors(round) {
  const pipeline = redis.pipeline();
  for (let index = 0; index < CHECKOUTS; index += 1) {
    const token = `r${round}-${index}-tok`;
    const entry = { token, productId: PRODUCT_ID, capturedAt: 1 };
    pipeline.set(`${PREFIX}token:o-${round}-${index}`, JSON.stringify(entry), 'EX', 600);
    pipeline.set(`sovendus_token_n-${round}-${index}`, token, 'EX', 600);
  }
  await pipeline.exec();
}

async function cpuPerCall(call, calls) {
  let next = 0;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < calls) await call(next++);
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}

const PAIRS = [
  {
    name: 'capture, no token vs a no-op middleware',
    calls: 200_000,
    reference: () => run(noop, noToken()),
    ours: () => run(capture, noToken()),
  },
  {
    name: 'capture, token vs naive snippet',
    calls: 10_000,
    reference: () => {
      const req = withToken();
      return naiveCapture(
        redis,
        req.sessionID,
        new URL(req.url, 'http://shop').searchParams.get('sovReqToken'),
      );
    },
    ours: () => run(capture, withToken()),
  },
  {
    name: 'checkout, ours vs naive',
    calls: CHECKOUTS,
    seed: seedVisitors,
    reference: (round) => (index) => naiveCheckout(redis, API_URL, `n-${round}-${index}`),
    ours: (round) => (index) => oursCheckout(`o-${round}-${index}`),
    perRound: true,
  },
];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const results = [];
const only = process.env.BENCH_ONLY; // as in run.mjs: a substring of a comparison's name
for (const pair of PAIRS) {
  if (only && !pair.name.includes(only)) continue;
  const reference = [];
  const ours = [];
  // Round 0 warms up (JIT, connections) and is not counted.
  for (let round = 0; round <= ROUNDS; round += 1) {
    await pair.seed?.(round);
    const referenceCall = pair.perRound ? pair.reference(round) : pair.reference;
    const oursCall = pair.perRound ? pair.ours(round) : pair.ours;
    const [first, second] = round % 2 === 0 ? [referenceCall, oursCall] : [oursCall, referenceCall];
    const a = await cpuPerCall(first, pair.calls);
    const b = await cpuPerCall(second, pair.calls);
    if (round === 0) continue;
    reference.push(round % 2 === 0 ? a : b);
    ours.push(round % 2 === 0 ? b : a);
  }
  const ratios = ours.map((value, index) => reference[index] / value);
  results.push({
    name: pair.name,
    calls: pair.calls,
    referenceUs: median(reference),
    oursUs: median(ours),
    ratio: median(ratios),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
  });
}

// Only the keys this script wrote (the Redis is run.mjs' own anyway).
for (const pattern of [`${PREFIX}*`, 'sovendus_token_*']) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
redis.disconnect();
console.log(JSON.stringify({ rounds: ROUNDS, results }));
