// After the load: wait until the system is quiet, read what is left in Redis, and turn the
// visitors' requests, the fake API's calls and the instances' events into the scenario's
// numbers. Nothing here asserts: it measures.
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { percentile, sleep } from './random.mjs';

const POLL_MS = 250;
// Quiet for this long in a row: a delivery between two states (a claim answered late and being
// handed to the queue) must not read as done.
const QUIET_FOR_MS = 1_000;
const SAMPLES = 10;

const increment = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);
const sortedObject = (map) =>
  Object.fromEntries(
    [...map.entries()].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(b[0])),
  );

/** Opens what the measuring needs on the scenario's Redis; `close()` when done. */
export function openInspector({ redisUrl, storePrefix, queueName, queuePrefix }) {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  const queueConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  queueConnection.on('error', () => undefined);
  const queue = new Queue(queueName, { connection: queueConnection, prefix: queuePrefix });
  queue.on('error', () => undefined);

  async function scanEntries(pattern) {
    const entries = [];
    let cursor = '0';
    do {
      const [nextCursor, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = nextCursor;
      const values = keys.length > 0 ? await client.mget(keys) : [];
      // A key can expire between SCAN and MGET: it is gone, not held.
      keys.forEach((key, index) => {
        if (values[index] !== null) entries.push({ key, value: values[index] });
      });
    } while (cursor !== '0');
    return entries;
  }
  const scanValues = async (pattern) => (await scanEntries(pattern)).map((entry) => entry.value);

  /** A few claims not "sent" (held or stale), with their key's time to live. */
  async function heldClaimSamples() {
    const claims = await scanEntries(`${storePrefix}claim:*`);
    const held = claims.filter((entry) => entry.value !== 'sent');
    return Promise.all(
      held
        .slice(0, SAMPLES)
        .map(async (entry) => ({ ...entry, pttl: await client.pttl(entry.key) })),
    );
  }

  /**
   * What still moves: queued deliveries, and claims held by a sender (anything but "sent").
   * A claim whose lease has run out without anyone taking it is `stale`, not held: this build
   * keeps a claim's owner as its value and its lease as the key's TTL (it vanishes when the
   * lease ends), the build being written now keeps `<lease end ms>:<owner>` for the token's
   * whole life. `sentClaims` is a sanity check: none at all after conversions went out would
   * mean the claims are named differently, and "no held claim" would prove nothing.
   */
  async function backlog() {
    const pending = await queue.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized');
    const claims = await scanValues(`${storePrefix}claim:*`);
    const leaseEnd = (value) => Number(/^(\d+):/.exec(value)?.[1] ?? Infinity);
    const unsent = claims.filter((value) => value !== 'sent');
    const heldClaims = unsent.filter((value) => leaseEnd(value) > Date.now()).length;
    return {
      pending,
      heldClaims,
      staleClaims: unsent.length - heldClaims,
      sentClaims: claims.length - unsent.length,
    };
  }

  return {
    /** Polls until nothing is pending or held, or `timeoutMs` passed. */
    async waitForQuiet(timeoutMs) {
      const started = Date.now();
      let quietSince;
      let last;
      while (Date.now() - started < timeoutMs) {
        last = await backlog().catch((error) => ({ error: String(error) }));
        const quiet = last.pending === 0 && last.heldClaims === 0;
        quietSince = quiet ? (quietSince ?? Date.now()) : undefined;
        if (quiet && Date.now() - quietSince >= QUIET_FOR_MS) {
          return { settled: true, ms: quietSince - started, last };
        }
        await sleep(POLL_MS);
      }
      return { settled: false, ms: Date.now() - started, last };
    },

    /** The tokens still stored, and the dead letters with their reasons. */
    async finalState() {
      const storedTokens = new Set();
      for (const raw of await scanValues(`${storePrefix}token:*`)) {
        try {
          // [token, productId, capturedAt]; 0.1.0 stored an object.
          const entry = JSON.parse(raw);
          storedTokens.add(Array.isArray(entry) ? entry[0] : entry.token);
        } catch {
          // Not an entry of ours.
        }
      }
      const failedJobs = await queue.getFailed(0, -1);
      const deadReasons = new Map();
      for (const job of failedJobs) increment(deadReasons, job.failedReason);
      return {
        storedTokens,
        deadLetters: failedJobs.length,
        deadLetterTokens: new Set(failedJobs.map((job) => job.data?.token)),
        deadReasons: sortedObject(deadReasons),
        heldClaimSamples: await heldClaimSamples(),
        ...(await backlog()),
      };
    },

    async close() {
      await queue.close().catch(() => undefined);
      client.disconnect();
      queueConnection.disconnect();
    },
  };
}

/** Per token: how often Sovendus counted it, and every reply the fake gave for it, in order. */
function apiByToken(calls) {
  const byToken = new Map();
  for (const call of calls) {
    if (call.api !== 'conversion' || call.token === undefined) continue;
    const entry = byToken.get(call.token) ?? { accepted: 0, replies: [] };
    if (call.accepted) entry.accepted += 1;
    entry.replies.push(call.reply);
    byToken.set(call.token, entry);
  }
  return byToken;
}

/** One visitor's requests, in a few words: "landing 200; checkout queued UNAVAILABLE". */
function describeRequests(visitor) {
  const word = (request) => {
    if (request.outcome === 'killed-instance') return `killed instance (${request.error})`;
    if (request.status === undefined) return request.error;
    if (request.kind === 'landing' || request.status >= 500) return `HTTP ${request.status}`;
    return [request.body?.status, request.body?.code].filter(Boolean).join(' ');
  };
  const of = (kind) =>
    visitor.requests
      .filter((request) => request.kind === kind)
      .map(word)
      .join(', ');
  return `landing ${of('landing')}; checkout ${of('checkout')}`;
}

function durations(requests, kind) {
  const values = requests
    .filter((request) => request.kind === kind && request.ms !== undefined)
    .map((request) => request.ms);
  const round = (value) => (value === null ? null : Math.round(value));
  return {
    count: values.length,
    p50: round(percentile(values, 50)),
    p99: round(percentile(values, 99)),
    max: round(values.length ? Math.max(...values) : null),
  };
}

/** Visitors whose token was stored but never accepted by Sovendus. */
function lostVisitors({ plan, recorder, final, api }) {
  const accepted = (token) => (api.get(token)?.accepted ?? 0) > 0;
  const stored = (token) =>
    recorder.captured.has(token) || final.storedTokens.has(token) || accepted(token);
  const lost = plan.filter(
    (visitor) => visitor.tokens.some(stored) && !visitor.tokens.some(accepted),
  );
  const notStored = plan.filter((visitor) => !visitor.tokens.some(stored)).length;
  const stillStored = lost.filter((visitor) =>
    visitor.tokens.some((token) => final.storedTokens.has(token)),
  );
  const why = new Map();
  for (const visitor of lost) increment(why, describeRequests(visitor));
  return {
    lost: lost.length,
    stillStored: stillStored.length,
    notStored,
    byRequests: sortedObject(why),
    samples: lost.slice(0, SAMPLES).map((visitor) => ({
      token: visitor.tokens[0],
      requests: describeRequests(visitor),
      captured: recorder.captured.has(visitor.tokens[0]),
      stillStored: final.storedTokens.has(visitor.tokens[0]),
      apiReplies: api.get(visitor.tokens[0])?.replies ?? [],
      packageEvents: recorder.perToken.get(visitor.tokens[0]) ?? [],
    })),
  };
}

/** Tokens Sovendus counted more than once, and whether the package said so (`resend`). */
function acceptedTwice({ recorder, api }) {
  const twice = [...api.entries()].filter(([, entry]) => entry.accepted > 1);
  const reported = twice.filter(([token]) => recorder.resendsPerToken.has(token));
  const reasons = new Map();
  for (const [token] of reported) {
    for (const reason of recorder.resendsPerToken.get(token)) increment(reasons, reason);
  }
  // The replies Sovendus gave for the token, in order: "drop, 200" says the answer to the
  // first, counted call was lost and the retry was counted again.
  const patterns = new Map();
  for (const [, entry] of twice) increment(patterns, entry.replies.join(', '));
  return {
    tokens: twice.length,
    reported: reported.length,
    reasons: sortedObject(reasons),
    replyPatterns: sortedObject(patterns),
    samples: twice.slice(0, SAMPLES).map(([token, entry]) => ({
      token,
      apiReplies: entry.replies,
      packageEvents: recorder.perToken.get(token) ?? [],
    })),
  };
}

function shopRequests(requests) {
  const failures = new Map();
  for (const request of requests.filter((request) => request.outcome === 'failed')) {
    const what = request.status
      ? `${request.kind} HTTP ${request.status} (${request.body?.error ?? 'no source'})`
      : `${request.kind} ${request.error}`;
    increment(failures, what);
  }
  return {
    total: requests.length,
    failed: requests.filter((request) => request.outcome === 'failed').length,
    fromSessions: requests.filter(
      (request) => request.outcome === 'failed' && request.body?.error === 'session',
    ).length,
    failures: sortedObject(failures),
    toKilledInstance: requests.filter((request) => request.outcome === 'killed-instance').length,
    retried: requests.filter((request) => request.retried).length,
  };
}

/** Everything one scenario measured; `row` is what the table shows. */
export function summarize(measured) {
  const { scenario, plan, load, recorder, calls, faultsInjected, final, quiet, crashes } = measured;
  const api = apiByToken(calls);
  const requests = plan.flatMap((visitor) => visitor.requests ?? []);
  const checkoutResults = new Map();
  for (const request of requests.filter((request) => request.kind === 'checkout')) {
    increment(checkoutResults, request.body?.status ?? request.error ?? `HTTP ${request.status}`);
  }
  const sentNotAccepted = [...recorder.sentPerToken.keys()].filter(
    (token) => (api.get(token)?.accepted ?? 0) === 0,
  );
  return {
    scenario: scenario.name,
    visitors: plan.length,
    lost: lostVisitors({ plan, recorder, final, api }),
    acceptedTwice: acceptedTwice({ recorder, api }),
    requests: shopRequests(requests),
    landing: durations(requests, 'landing'),
    checkout: durations(requests, 'checkout'),
    checkoutResults: sortedObject(checkoutResults),
    events: { ...recorder.counts },
    failedEvents: sortedObject(recorder.failedCodes),
    deadEvents: sortedObject(recorder.deadCodes),
    resendReasons: sortedObject(recorder.resendReasons),
    deadLetters: final.deadLetters,
    deadLetterReasons: final.deadReasons,
    sentEventsForTokensNeverAccepted: sentNotAccepted.length,
    tokensStoredAtEnd: final.storedTokens.size,
    sentClaimsAtEnd: final.sentClaims,
    staleClaimsAtEnd: final.staleClaims,
    unsentClaimSamples: final.heldClaimSamples,
    api: {
      calls: calls.length,
      accepted: calls.filter((call) => call.accepted).length,
      faultsInjected,
    },
    settled: quiet,
    loadMs: load.loadMs,
    midRun: load.actions,
    packageLogs: sortedObject(recorder.logs),
    apiCallsWithoutAnswer: sortedObject(recorder.apiCallErrors),
    shopErrors: sortedObject(recorder.httpErrors),
    unhandledRejections: recorder.unhandled(),
    instanceCrashes: crashes,
  };
}
