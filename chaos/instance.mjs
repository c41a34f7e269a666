// One shop instance of the chaos run, as its own process (the runner starts three). It uses
// the built package exactly as a shop would: Express 5, express-session on connect-redis,
// RedisTokenStore and BullMQDeliveryQueue on the same Redis, a worker in every instance.
// Everything the package tells the shop (events, warn/error log lines) is forwarded to the
// runner over IPC, tagged with this instance's id.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import Redis from 'ioredis';
import { createSovendus, RedisTokenStore, SovendusConfigError } from '../dist/esm/index.js';
import { BullMQDeliveryQueue } from '../dist/esm/bullmq.js';

const { SHOP_ID, REDIS_URL, API_URL, PRODUCT_ID, API_KEY } = process.env;
const { STORE_PREFIX, SESSION_PREFIX, QUEUE_PREFIX, QUEUE_NAME } = process.env;

// Short timings, so that a run with thousands of visitors and several outages stays quick.
const TIMINGS = {
  storeTimeoutMs: 100,
  timeoutMs: 300,
  retry: { attempts: 2, minDelayMs: 10, maxDelayMs: 50 },
};
const SEND_LIMIT_MS = 2_000;
// Every event the package emits for conversions; `resend` is new (payload: `reason`), and
// subscribing to an event this build does not know is harmless: it never fires.
const EVENTS = ['captured', 'rejected', 'sent', 'queued', 'failed', 'dead', 'resend'];

function report(message) {
  if (process.connected) process.send({ ...message, shop: SHOP_ID });
}

/** Events carry SovendusErrors: IPC wants plain data, so keep what identifies them. */
function plain(payload) {
  return JSON.parse(
    JSON.stringify(payload, (_key, value) =>
      value instanceof Error
        ? { name: value.name, code: value.code, status: value.status, message: value.message }
        : value,
    ),
  );
}

// Reconnect quickly (at most 500 ms apart), so the shop follows Redis back within a second.
const retryStrategy = (times) => Math.min(times * 50, 500);
const redisClient = (options) => {
  const client = new Redis(REDIS_URL, { retryStrategy, ...options });
  // ioredis reports each failed reconnect; the package and the runner see the consequences.
  client.on('error', () => undefined);
  return client;
};
// The token store's client, as a careful shop configures it: the offline queue stays on (a
// reconnect of a few ms should not fail commands), but a command is retried at most once across
// reconnects, so an outage fails commands instead of piling them up; the package bounds each
// store call by storeTimeoutMs anyway.
const storeClient = redisClient({ maxRetriesPerRequest: 1 });
// The sessions' client keeps ioredis' default (a command waits through up to 20 reconnects):
// the session is the shop's own business, and with it a short Redis outage makes pages slow
// rather than 500s, so what fails is the package's doing. (500s from the session middleware
// are still told apart: see `from` below.)
const sessionClient = redisClient({});
// BullMQ requires maxRetriesPerRequest: null (its worker's blocking commands must survive a
// reconnect); the package bounds every enqueue by storeTimeoutMs, so no request waits on it.
const queueClient = redisClient({ maxRetriesPerRequest: null });

const queue = new BullMQDeliveryQueue({
  connection: queueClient,
  name: QUEUE_NAME,
  prefix: QUEUE_PREFIX,
  // Retried soon, and dead after about a minute instead of a day, so the run ends.
  firstRetryDelayMs: 200,
  retryWindowMs: 60_000,
});

// Counts the API calls awaiting their answer, so the runner can kill an instance while it has
// sends in flight, and reports each call that ends without an answer (and after how long): the
// package retries those, and Sovendus may have counted them. `fetch` is a documented option;
// this one only watches, then calls the global one.
let sendsInFlight = 0;
async function countingFetch(...args) {
  sendsInFlight += 1;
  const started = performance.now();
  try {
    return await globalThis.fetch(...args);
  } catch (error) {
    const why = error?.name === 'AbortError' ? 'aborted' : (error?.cause?.code ?? error?.name);
    report({ type: 'api-call-error', why, ms: Math.round(performance.now() - started) });
    throw error;
  } finally {
    sendsInFlight -= 1;
  }
}

// The package's warnings and errors ("sent, but not recorded as sent", ...) are evidence too.
const forwardLog = (level) => (fields, message) => {
  report({ type: 'log', level, message, code: fields?.code });
};
const logger = { warn: forwardLog('warn'), error: forwardLog('error') };

const options = {
  productId: PRODUCT_ID,
  apiKey: API_KEY,
  apiBaseUrl: API_URL,
  store: new RedisTokenStore({ client: storeClient, prefix: STORE_PREFIX }),
  queue,
  fetch: countingFetch,
  logger,
  ...TIMINGS,
};

/**
 * `sendLimitMs` (the hard limit of one API call) is being added to the package now. Builds
 * without it reject unknown options with a SovendusConfigError, `Unrecognized key:
 * "sendLimitMs"` (and start nothing, not even the queue's worker), so: try with it, and without
 * it if that was the complaint. Any other error (a build that knows the option and finds the
 * value wrong, say) is a real one and stops the instance.
 */
function createWithSendLimit() {
  try {
    return {
      sovendus: createSovendus({ ...options, sendLimitMs: SEND_LIMIT_MS }),
      sendLimit: true,
    };
  } catch (error) {
    const unknownOption = /Unrecognized key.*sendLimitMs/s.test(String(error?.message));
    if (!(error instanceof SovendusConfigError) || !unknownOption) {
      throw error;
    }
    return { sovendus: createSovendus(options), sendLimit: false };
  }
}
const { sovendus, sendLimit } = createWithSendLimit();
for (const event of EVENTS) {
  sovendus.on(event, (payload) => report({ type: 'event', event, payload: plain(payload) }));
}

/** Marks where an error came from, so the runner can tell session trouble from the package's. */
const from = (source, middleware) => (req, res, next) =>
  middleware(req, res, (error) => {
    if (error && typeof error === 'object') error.chaosSource ??= source;
    next(error);
  });

const app = express();
app.use(
  from(
    'session',
    session({
      store: new RedisStore({ client: sessionClient, prefix: SESSION_PREFIX }),
      secret: 'sovendus-chaos',
      resave: false,
      saveUninitialized: false,
      // As long as the token lives (30 days), as the README asks.
      cookie: { maxAge: 30 * 24 * 3600 * 1000 },
    }),
  ),
);
app.use(from('sovendus', sovendus.capture()));
app.get('/landing', (_req, res) => {
  res.send('<!doctype html><title>Shop</title><p>Welcome!</p>');
});
app.post(
  '/checkout',
  express.json(),
  from('sovendus', sovendus.convert({ orderId: (req) => req.body.orderId })),
  (_req, res) => {
    res.json({ status: res.locals.sovendus.status, code: res.locals.sovendus.error?.code });
  },
);
// Express 5 error handler: a 500 that says where the error came from. Express knows an error
// handler by its four parameters, so the unused `_next` must stay.
// eslint-disable-next-line no-unused-vars
app.use((error, _req, res, _next) => {
  const source = error?.chaosSource ?? 'shop';
  report({ type: 'http-error', source, message: String(error?.message), late: res.headersSent });
  // express-session saves the session after writing the page: its failure arrives after the
  // response, which is already complete.
  if (res.headersSent) return;
  res.status(500).json({ error: source, message: String(error?.message) });
});

// A careful shop would log these; here they are counted, and the instance keeps serving.
process.on('unhandledRejection', (reason) => {
  report({ type: 'unhandled-rejection', message: String(reason?.stack ?? reason) });
});

const server = app.listen(0, '127.0.0.1', () => {
  report({ type: 'ready', port: server.address().port, sendLimit });
});

process.on('message', (message) => {
  if (message?.type === 'inflight?') {
    report({ type: 'inflight', id: message.id, count: sendsInFlight });
  }
});

// How late this process' event loop ran: on a busy machine, timers (the API call's timeout,
// the store's deadline) fire late, and answers are read late. Reported when stopping.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections();
  await sovendus.close({ timeoutMs: 3_000 }).catch(() => undefined);
  const ms = (ns) => Math.round(ns / 1e6);
  report({ type: 'loop-delay', p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) });
  for (const client of [storeClient, sessionClient, queueClient]) client.disconnect();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
// The runner is gone (even SIGKILLed): do not outlive it.
process.on('disconnect', () => process.exit(1));
