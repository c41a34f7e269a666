// `npm run bench`: the middleware's cost as ratios against a bare app and against the naive
// snippet, measured in one run. Shops run on CPU 0; the load generator, Redis and the fake API
// on CPU 1. Both shops of a comparison run at once and take alternating short bursts, over
// several fresh pairs of shop processes; the table reports the median of the per-burst ratios.
// See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import Redis from 'ioredis';
import { OTEL_MODE, otelNodeArgs } from './otel-mode.mjs';
import { seedVisitors } from './visitors.mjs';

const BURSTS = Number(process.env.BENCH_BURSTS ?? 24);
const BURST_MS = Number(process.env.BENCH_BURST_MS ?? 500);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 6);
// Per pair of fresh shops: long enough for the JIT to settle, so bursts measure steady code.
const WARMUP_MS = 3_000;
const CONCURRENCY = 16;
const SEEDED_VISITORS = 150_000;
const PREFIX = 'bench:';

const pinnable = cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const SHOP_CPU = '0';
const LOAD_CPU = '1';

function pinned(cpu, command, args, options = {}) {
  return pinnable
    ? spawn('taskset', ['-c', cpu, command, ...args], options)
    : spawn(command, args, options);
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a child and resolves with what follows "READY " on its stdout. */
function ready(child, what) {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /READY (\S+)/.exec(output);
      if (match) resolve(match[1]);
    });
    // Quiet unless it fails (express-session warns about its memory store on every start).
    let errors = '';
    child.stderr.on('data', (chunk) => (errors += chunk));
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${output}${errors}`)));
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

async function startShop(scenario, env) {
  const child = pinned(SHOP_CPU, process.execPath, [...otelNodeArgs, 'bench/shop.mjs'], {
    env: { ...process.env, ...env, SCENARIO: scenario, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const shop = { child, url: '', said: '' };
  child.stderr.on('data', (chunk) => (shop.said += chunk));
  shop.url = `http://127.0.0.1:${await ready(child, `shop ${scenario}`)}`;
  return shop;
}

/**
 * A 95 % confidence interval of the median of `values`, by bootstrap: the medians of 2,000
 * resamples (with replacement), cut at the 2.5th and 97.5th percentile. It says how far one
 * run's median can be trusted on this machine.
 */
function medianInterval(values) {
  const resample = () => values.map(() => values[Math.floor(Math.random() * values.length)]);
  const medians = Array.from({ length: 2_000 }, () => median(resample())).sort((a, b) => a - b);
  return [medians[Math.floor(medians.length * 0.025)], medians[Math.floor(medians.length * 0.975)]];
}

/**
 * One pair of fresh shop processes under alternating bursts. Two processes of the same code can
 * differ by a few per cent for as long as they live (code layout, JIT decisions: the A/A row
 * shows it), so a comparison runs several pairs, each with its own offset, and pools them.
 */
async function runPair(reference, ours, env, bursts, visitorOffset) {
  const shops = [await startShop(reference.scenario, env), await startShop(ours.scenario, env)];
  const sides = [
    {
      name: 'reference',
      url: shops[0].url,
      pid: shops[0].child.pid,
      kind: reference.kind,
      visitorPrefix: 'n-',
    },
    {
      name: 'ours',
      url: shops[1].url,
      pid: shops[1].child.pid,
      kind: ours.kind,
      visitorPrefix: 'o-',
    },
  ];
  const loadgen = pinned(
    LOAD_CPU,
    process.execPath,
    [
      'bench/loadgen.mjs',
      JSON.stringify({
        sides,
        bursts,
        burstMs: BURST_MS,
        warmupMs: WARMUP_MS,
        concurrency: CONCURRENCY,
        visitorOffset,
      }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  loadgen.stdout.on('data', (chunk) => (output += chunk));
  await new Promise((resolve) => loadgen.once('exit', resolve));
  // A shop ends itself when a capture or checkout fails (shop.mjs): say why, not what the load
  // generator made of the refused connections.
  const ended = shops.find((shop) => shop.child.exitCode !== null);
  for (const shop of shops) shop.child.kill('SIGTERM');
  if (ended) throw new Error(`a shop ended during the run: ${ended.said}`);
  const results = JSON.parse(output);
  return { reference: { bursts: results.reference }, ours: { bursts: results.ours } };
}

async function compare(name, reference, ours, env, target) {
  const pairs = [];
  for (let pair = 0; pair < PAIRS; pair += 1) {
    // The bursts split evenly; each pair checks out visitors of its own.
    const bursts = Math.floor(BURSTS / PAIRS) + (pair < BURSTS % PAIRS ? 1 : 0);
    const visitorOffset = pair * Math.floor(SEEDED_VISITORS / PAIRS);
    pairs.push(await runPair(reference, ours, env, bursts, visitorOffset));
  }
  const cpuPerRequest = (burst) => burst.cpuNs / burst.requests;
  const side = (key) => {
    const bursts = pairs.flatMap((pair) => pair[key].bursts);
    const requests = bursts.reduce((sum, burst) => sum + burst.requests, 0);
    const cpuNs = bursts.reduce((sum, burst) => sum + burst.cpuNs, 0);
    return {
      rps: median(bursts.map((burst) => burst.rps)),
      p99: median(bursts.map((burst) => burst.p99)),
      errors: bursts.reduce((sum, burst) => sum + burst.errors, 0),
      cpuUsPerRequest: cpuNs / requests / 1000,
    };
  };
  // Each of our bursts against the reference burst beside it (same pair, same round).
  const perBurst = (measure) =>
    pairs.flatMap((pair) =>
      pair.ours.bursts.map((burst, index) => measure(pair.reference.bursts[index], burst)),
    );
  const ratios = perBurst((referenceBurst, burst) => burst.rps / referenceBurst.rps);
  // Reference CPU per request over ours: the shop's work per request, whatever the other CPU
  // (load generator, Redis, API) let its throughput be.
  const cpuRatios = perBurst(
    (referenceBurst, burst) => cpuPerRequest(referenceBurst) / cpuPerRequest(burst),
  );
  const cpuRatio = median(cpuRatios);
  return {
    name,
    reference: { scenario: reference.scenario, ...side('reference') },
    ours: { scenario: ours.scenario, ...side('ours') },
    ratio: median(ratios),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    ratioInterval: medianInterval(ratios),
    cpuRatio,
    cpuRatioInterval: medianInterval(cpuRatios),
    target,
    // Judged on CPU: the steadier signal on a shared machine, and the one that says what the
    // package costs a shop.
    pass: target === undefined ? undefined : cpuRatio >= target,
  };
}

const redisPort = await freePort();
const redisServer = pinned(
  LOAD_CPU,
  'redis-server',
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  { stdio: 'ignore' },
);
const redisUrl = `redis://127.0.0.1:${redisPort}`;
const redis = new Redis(redisUrl, { retryStrategy: (times) => (times > 50 ? null : 100) });
redis.on('error', () => undefined); // the first connect may come before redis-server listens
await redis.ping();
const fakeApi = pinned(LOAD_CPU, process.execPath, ['bench/fake-api.mjs'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
const apiUrl = await ready(fakeApi, 'fake API');
const env = { REDIS_URL: redisUrl, API_URL: apiUrl, PREFIX };

// [name, reference scenario, our scenario, request kind, target ratio]
const PLAN = [
  ['A/A calibration (bare vs bare)', 'baseline', 'baseline', 'plain'],
  ['capture, no token vs baseline', 'baseline', 'capture-no-token', 'plain', 0.98],
  ['capture, token vs naive snippet', 'naive-token', 'capture-token', 'fresh-token', 0.95],
  ['checkout, ours vs naive', 'checkout-naive', 'checkout-ours', 'checkout', 0.95],
];

const comparisons = [];
let inProcess;
try {
  await seedVisitors(redis, PREFIX, SEEDED_VISITORS);
  const only = process.env.BENCH_ONLY; // a substring of a comparison's name, to run just that
  for (const [name, reference, ours, kind, target] of PLAN) {
    if (only && !name.includes(only)) continue;
    comparisons.push(
      await compare(name, { scenario: reference, kind }, { scenario: ours, kind }, env, target),
    );
  }
  // The middleware's own cost, without the HTTP stack: on the shops' CPU, the same Redis and API.
  const child = pinned(SHOP_CPU, process.execPath, [...otelNodeArgs, 'bench/in-process.mjs'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  await new Promise((resolve) => child.once('exit', resolve));
  inProcess = JSON.parse(output);
} finally {
  fakeApi.kill('SIGTERM');
  redis.disconnect();
  redisServer.kill('SIGKILL');
}

const memory = JSON.parse(
  spawnSync(process.execPath, ['--expose-gc', 'bench/memory-store.mjs'], { encoding: 'utf8' })
    .stdout,
);

const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const lines = [
  `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${pinnable ? 'shops pinned to CPU 0, load/Redis/API to CPU 1' : 'not pinned'}; ${BURSTS} alternating bursts of ${BURST_MS} ms over ${PAIRS} fresh pairs of shops, ${CONCURRENCY} connections; OpenTelemetry: ${OTEL_MODE} (BENCH_OTEL)`,
  '',
  '| comparison | reference CPU µs/req | ours CPU µs/req | CPU ratio (median, 95 % CI) | target | reference req/s | ours req/s | throughput ratio (median, 95 % CI) | reference p99 ms | ours p99 ms |',
  '|---|---:|---:|---|---|---:|---:|---|---:|---:|',
  ...comparisons.map(
    (c) =>
      `| ${c.name} | ${fmt(c.reference.cpuUsPerRequest)} | ${fmt(c.ours.cpuUsPerRequest)} | ${fmt(c.cpuRatio, 3)} (${fmt(c.cpuRatioInterval[0], 3)}–${fmt(c.cpuRatioInterval[1], 3)}) | ${c.target === undefined ? 'noise floor' : `≥ ${c.target} ${c.pass ? 'pass' : 'FAIL'}`} | ${fmt(c.reference.rps)} | ${fmt(c.ours.rps)} | ${fmt(c.ratio, 3)} (${fmt(c.ratioInterval[0], 3)}–${fmt(c.ratioInterval[1], 3)}) | ${fmt(c.reference.p99, 2)} | ${fmt(c.ours.p99, 2)} |`,
  ),
  '',
  `In process (no HTTP stack): CPU µs per call, median of ${inProcess.rounds} interleaved rounds`,
  '',
  '| comparison | calls per round | reference µs | ours µs | ours adds µs | ratio (median, range) |',
  '|---|---:|---:|---:|---:|---|',
  ...inProcess.results.map(
    (r) =>
      `| ${r.name} | ${fmt(r.calls)} | ${fmt(r.referenceUs, 1)} | ${fmt(r.oursUs, 1)} | ${fmt(r.oursUs - r.referenceUs, 1)} | ${fmt(r.ratio, 3)} (${fmt(r.ratioRange[0], 3)}–${fmt(r.ratioRange[1], 3)}) |`,
  ),
  '',
  `MemoryTokenStore, ${fmt(memory.tokens)} distinct tokens through maxEntries ${fmt(memory.maxEntries)}: heap grew ${fmt(memory.heapGrowthMb, 1)} MB (bound ${memory.boundMb} MB) ${memory.pass ? 'pass' : 'FAIL'}`,
  '',
  `MemoryTokenStore, ${fmt(memory.longKeys.tokens)} tokens under ${fmt(memory.longKeys.keyBytes)}-byte session keys through the defaults: ${fmt(memory.longKeys.size)} kept, heap grew ${fmt(memory.longKeys.heapGrowthMb, 1)} MB (bound ${memory.longKeys.boundMb} MB) ${memory.longKeys.pass ? 'pass' : 'FAIL'}`,
];
console.log(lines.join('\n'));
mkdirSync('bench', { recursive: true });
writeFileSync(
  'bench/results.json',
  `${JSON.stringify({ node: process.version, otel: OTEL_MODE, bursts: BURSTS, burstMs: BURST_MS, pairs: PAIRS, comparisons, inProcess, memory }, null, 2)}\n`,
);
const errors = comparisons.reduce((sum, c) => sum + c.reference.errors + c.ours.errors, 0);
if (errors > 0) console.log(`\n${errors} requests answered with a status other than 200.`);
