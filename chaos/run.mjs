// `npm run chaos`: a multi-instance fault run. For each scenario, fresh: a throwaway Redis, the
// fake Sovendus API (in this process), three shop instances (chaos/instance.mjs) sharing
// sessions, tokens and the durable queue in that Redis, and thousands of visitors who land and
// check out while faults hit. It measures whether "every conversion exactly once, the shop
// never breaks" held, prints one markdown table, and writes chaos/results.json. It asserts
// nothing. Not part of `npm test` or CI. See chaos/README.md.
//
// CHAOS_VISITORS=2000 (visitors per scenario), CHAOS_ONLY="redis stall,all" (a subset).
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startFakeSovendusApi } from '../dist/esm/testing/index.js';
import './cleanup.mjs';
import { planVisitors, runLoad } from './load.mjs';
import { openInspector, summarize } from './measure.mjs';
import { createRecorder } from './recorder.mjs';
import { startRedis } from './redis-server.mjs';
import { details, header, table, writeResults } from './report.mjs';
import { SCENARIOS } from './scenarios.mjs';
import { createShops } from './shops.mjs';

const VISITORS = Number(process.env.CHAOS_VISITORS ?? 2_000);
const ONLY = (process.env.CHAOS_ONLY ?? '')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const CONCURRENCY = 25;
const SHOPS = 3;
const SETTLE_TIMEOUT_MS = 120_000;
const WARM_UP = { visitors: 150, concurrency: 10, settleMs: 30_000 };
// Fixed seeds: every run gets the same visitor plan and the same fault sequence.
const PLAN_SEED = 20_240_601;
const FAULT_SEED = 7;
const PRODUCT_ID = '9bc72425-902c-3abf-9db8-8b186d7cb160';
const API_KEY = 'CHAO-SRUNS-APIKEY-001';
const RESULTS = fileURLToPath(new URL('./results.json', import.meta.url));

const NAMES = {
  storePrefix: 'chaos:',
  sessionPrefix: 'chaos-sess:',
  queueName: 'sovendus-conversions',
  queuePrefix: 'chaos-bull',
};

/** Five [0-9a-z] characters, the first group of this scenario's test-shaped tokens. */
const runTag = () => randomUUID().replaceAll('-', '').slice(0, 5);

/**
 * A few visitors before the measured load, without faults, so that the instances start warm
 * (code compiled, Redis scripts loaded, connections open): otherwise the first seconds of every
 * row measure a cold start, whose slow answers alone make calls time out.
 */
async function warmUp({ shops, inspector }) {
  const plan = planVisitors({ count: WARM_UP.visitors, seed: PLAN_SEED + 1, runTag: runTag() });
  await runLoad({ shops, plan, concurrency: WARM_UP.concurrency });
  await inspector.waitForQuiet(WARM_UP.settleMs);
}

async function runScenario(scenario) {
  const redis = await startRedis();
  const api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
  // Replaced after the warm-up, so that only the measured load is counted.
  let recorder = createRecorder();
  const shops = createShops({
    count: SHOPS,
    env: {
      REDIS_URL: redis.url,
      API_URL: api.url,
      PRODUCT_ID,
      API_KEY,
      STORE_PREFIX: NAMES.storePrefix,
      SESSION_PREFIX: NAMES.sessionPrefix,
      QUEUE_PREFIX: NAMES.queuePrefix,
      QUEUE_NAME: NAMES.queueName,
    },
    onMessage: (shop, message) => recorder.onMessage(shop, message),
  });
  const inspector = openInspector({ redisUrl: redis.url, ...NAMES });
  // The machine's own weather: this process runs the load, the fake API and the counting, so
  // when its event loop lags, Sovendus "answers" late and the shops' timeouts fire.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const loadBefore = loadavg()[0];
  try {
    await shops.start();
    await warmUp({ shops, inspector });
    recorder = createRecorder();
    api.reset();
    loopDelay.reset();
    const plan = planVisitors({ count: VISITORS, seed: PLAN_SEED, runTag: runTag() });
    if (scenario.faults) api.injectFaults({ ...scenario.faults, seed: FAULT_SEED });
    const load = await runLoad({
      shops,
      plan,
      concurrency: CONCURRENCY,
      during: scenario.during,
      context: { api, redis, shops },
    });
    // Sovendus and Redis are well again (every mid-run action has ended): let it settle.
    api.injectFaults(undefined);
    const quiet = await inspector.waitForQuiet(SETTLE_TIMEOUT_MS);
    const final = await inspector.finalState();
    const features = shops.features();
    await shops.stop(); // gracefully: in-flight deliveries finish, their calls are counted
    return {
      ...summarize({
        scenario,
        plan,
        load,
        recorder,
        calls: api.calls,
        faultsInjected: api.faultsInjected,
        final,
        quiet,
        crashes: shops.crashes,
      }),
      packageFeatures: features,
      machine: {
        loadAverage1m: [loadBefore, loadavg()[0]].map((load) => Number(load.toFixed(2))),
        runnerLoopDelayMs: {
          p99: Math.round(loopDelay.percentile(99) / 1e6),
          max: Math.round(loopDelay.max / 1e6),
        },
        shopLoopDelayMs: recorder.loopDelays,
      },
    };
  } finally {
    loopDelay.disable();
    await shops.stop();
    await inspector.close();
    await api.close();
    await redis.remove();
  }
}

async function main() {
  const chosen = SCENARIOS.filter((scenario) => ONLY.length === 0 || ONLY.includes(scenario.name));
  if (chosen.length === 0) {
    throw new Error(`CHAOS_ONLY matches no scenario: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  const started = performance.now();
  const results = [];
  for (const scenario of chosen) {
    const scenarioStarted = performance.now();
    process.stderr.write(`chaos: ${scenario.name} ...`);
    try {
      results.push(await runScenario(scenario));
    } catch (error) {
      results.push({ scenario: scenario.name, error: String(error?.message ?? error) });
      process.stderr.write(`\n${error?.stack ?? error}\n`);
    }
    process.stderr.write(` ${((performance.now() - scenarioStarted) / 1000).toFixed(1)} s\n`);
  }
  const runSeconds = Math.round((performance.now() - started) / 1000);
  const features = results.find((result) => result.packageFeatures)?.packageFeatures;
  const title = header({ visitors: VISITORS, concurrency: CONCURRENCY, features });
  console.log(`${title}\n\n${table(results)}\n\n${details(results)}\n\nTotal: ${runSeconds} s`);
  const meta = { title, visitors: VISITORS, concurrency: CONCURRENCY, runSeconds };
  await writeResults(RESULTS, results, meta);
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  // Lingering keep-alive sockets or timers must not keep the run alive; cleanup.mjs kills
  // whatever child is left in its exit handler.
  process.exit(process.exitCode ?? 0);
}
