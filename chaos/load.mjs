// The load generator: visitors who land with a Sovendus token and check out, each with a
// cookie jar of its own (just the session cookie), spread over the living shop instances.
// Every request is bounded by a timeout, so the run always ends.
/* global AbortSignal */
import { seeded, sleep } from './random.mjs';

const REQUEST_TIMEOUT_MS = 15_000;
const SESSION_COOKIE = 'connect.sid';
// When every instance is down at once (only crashes could do that), wait this long for one.
const NO_SHOP_WAIT_MS = 10_000;

/**
 * A unique token of Sovendus' test shape (`12345-test-123-12345`), which the fake API accepts:
 * the run's tag, "test", then the visitor's index in base 36 over the last two groups.
 */
function tokenFor(runTag, index) {
  const digits = index.toString(36).padStart(8, '0');
  return `${runTag}-test-${digits.slice(0, 3)}-${digits.slice(3)}`;
}

/**
 * Who does what, decided up front from a seed so that a scenario can be replayed: 20 % click
 * "buy" twice at once (on two instances), 5 % order twice in a row with two order ids, the rest
 * once; each checks out 0-50 ms after landing.
 */
export function planVisitors({ count, seed, runTag }) {
  const random = seeded(seed);
  return Array.from({ length: count }, (_, index) => {
    const roll = random();
    const kind = roll < 0.2 ? 'double-click' : roll < 0.25 ? 'twice' : 'once';
    return {
      index,
      tokens: [tokenFor(runTag, index)],
      kind,
      waitMs: Math.floor(random() * 51),
      // Where each request goes, as a fraction of the living instances at that moment.
      picks: [random(), random(), random()],
      orderIds: [`order-${runTag}-${index}-1`, `order-${runTag}-${index}-2`],
    };
  });
}

/** Picks an instance by `pick` (0..1) among the living ones, avoiding `not` when it can. */
async function pickShop(shops, pick, not) {
  for (let waited = 0; ; waited += 50) {
    const living = shops.living();
    const candidates = living.length > 1 ? living.filter((shop) => shop !== not) : living;
    if (candidates.length > 0) return candidates[Math.floor(pick * candidates.length)];
    if (waited >= NO_SHOP_WAIT_MS) return undefined;
    await sleep(50);
  }
}

function sessionCookieOf(response) {
  for (const header of response.headers.getSetCookie()) {
    if (header.startsWith(`${SESSION_COOKIE}=`)) return header.split(';')[0];
  }
  return undefined;
}

/**
 * One HTTP request of a visitor. Resolves (never rejects) with what happened: the status and
 * duration, or the connection error, telling an instance the runner killed on purpose from a
 * living one.
 */
async function send(kind, shop, path, visitor, body) {
  const record = { kind, shop: shop?.id, status: undefined, ms: undefined, outcome: 'response' };
  if (shop === undefined) return { ...record, outcome: 'failed', error: 'no living instance' };
  const started = performance.now();
  try {
    const response = await fetch(`${shop.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        ...(visitor.cookie ? { cookie: visitor.cookie } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    record.ms = performance.now() - started;
    record.status = response.status;
    visitor.cookie = sessionCookieOf(response) ?? visitor.cookie;
    if (kind === 'checkout' || response.status >= 500) {
      try {
        record.body = JSON.parse(text);
      } catch {
        record.body = text.slice(0, 200);
      }
    }
    if (response.status >= 500) record.outcome = 'failed';
    return record;
  } catch (error) {
    // Killed by the runner, before or while this request ran: not the shop's failure.
    record.outcome = shop.killedByUs ? 'killed-instance' : 'failed';
    record.error = error.name === 'TimeoutError' ? 'timeout' : String(error.cause?.code ?? error);
    return record;
  }
}

/**
 * A request as a visitor makes it: one whose instance the runner killed before it answered (the
 * page did not load) is made again once, on another living instance, as a visitor reloads the
 * page or submits the order again. The shop never answered the first one, so it could not have
 * told the visitor anything; what the package must do is convert the retry exactly once.
 */
async function request(shops, kind, shop, path, visitor, body) {
  const record = await send(kind, shop, path, visitor, body);
  visitor.requests.push(record);
  if (record.outcome !== 'killed-instance') return;
  const retry = await send(
    kind,
    await pickShop(shops, visitor.picks[2], shop),
    path,
    visitor,
    body,
  );
  visitor.requests.push({ ...retry, retried: true });
}

const checkout = (shops, visitor, shop, orderId) =>
  request(shops, 'checkout', shop, '/checkout', visitor, { orderId });

async function visit(shops, visitor) {
  const [landingPick, firstPick, secondPick] = visitor.picks;
  const [orderId, secondOrderId] = visitor.orderIds;
  const landingShop = await pickShop(shops, landingPick);
  const path = `/landing?sovReqToken=${visitor.tokens[0]}`;
  await request(shops, 'landing', landingShop, path, visitor);
  await sleep(visitor.waitMs);
  const first = await pickShop(shops, firstPick);
  if (visitor.kind === 'double-click') {
    // Two submissions of one order at once, on two different instances.
    const second = await pickShop(shops, secondPick, first);
    await Promise.all([
      checkout(shops, visitor, first, orderId),
      checkout(shops, visitor, second, orderId),
    ]);
    return;
  }
  await checkout(shops, visitor, first, orderId);
  if (visitor.kind === 'twice') {
    await checkout(shops, visitor, await pickShop(shops, secondPick), secondOrderId);
  }
}

/**
 * Runs every visitor, `concurrency` at a time. Each `during` action starts once the share `at`
 * of the visitors has started, runs alongside the load, and is awaited before this resolves.
 */
export async function runLoad({ shops, plan, concurrency, during = [], context }) {
  const started = performance.now();
  const actions = [];
  const pending = during.map((action) => ({ ...action, fired: false }));
  const fire = (startedCount) => {
    for (const action of pending) {
      if (action.fired || startedCount < action.at * plan.length) continue;
      action.fired = true;
      const record = { name: action.name, atMs: Math.round(performance.now() - started) };
      actions.push(
        action
          .run(context)
          .then((details) => Object.assign(record, { details }))
          .catch((error) => Object.assign(record, { error: String(error?.stack ?? error) }))
          .finally(() => (record.tookMs = Math.round(performance.now() - started - record.atMs)))
          .then(() => record),
      );
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < plan.length) {
      const visitor = plan[next];
      next += 1;
      fire(next);
      visitor.requests = [];
      await visit(shops, visitor);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const loadMs = Math.round(performance.now() - started);
  return { loadMs, actions: await Promise.all(actions) };
}
