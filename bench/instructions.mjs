// `npm run bench:instructions`: what a request costs in machine instructions, counted by
// valgrind's callgrind, for the rows of `npm run bench` (no token against a bare shop; a token,
// and a checkout, against the protocol doc's snippet). A count does not move with the machine's
// load the way CPU time does (about ±0.03 a row on the shared VM), only with the collector's
// rhythm (up to 3 % a landing, 8 % a checkout between runs of the same code), so a difference
// larger than that, seen in every run, tells two versions of the code apart before they are
// timed. It is not a time: a cache miss or a GC thread's wait costs nothing here. Needs
// valgrind (`apt-get install valgrind`); CI runs nothing of it.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { otelNodeArgs, OTEL_MODE } from './otel-mode.mjs';
import Redis from 'ioredis';
import { startThrowawayRedis } from './throwaway-redis.mjs';
import { seedVisitors } from './visitors.mjs';

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('bench/instructions.mjs needs valgrind (apt-get install valgrind).');
  process.exit(1);
}

/** Landings before counting: enough for the JIT to settle even at valgrind's pace. */
const WARMUP = Number(process.env.INSTR_WARMUP ?? 20_000);
/** Landings counted per run. */
const REQUESTS = Number(process.env.INSTR_REQUESTS ?? 10_000);
/** Runs per scenario; the table gives their median. */
const RUNS = Number(process.env.INSTR_RUNS ?? 2);
const CONCURRENCY = 16;

/** Checkouts are slower under valgrind (each calls the fake API): a quarter as many. */
const CHECKOUT_WARMUP = Math.ceil(WARMUP / 4);
const CHECKOUTS = Math.ceil(REQUESTS / 4);
const PREFIX = 'instr:';

// [name, reference scenario, our scenario, request kind]
const PLAN = [
  ['capture, no token vs baseline', 'baseline', 'capture-no-token', 'plain'],
  ['capture, token vs naive snippet', 'naive-token', 'capture-token', 'token'],
  ['checkout, ours vs naive', 'checkout-naive', 'checkout-ours', 'checkout'],
];

let tokenCounter = 0;
/** Each checkout by a visitor of its own who landed (seeded), on either side. */
let visitorCounter = 0;

function requestFor(kind, scenario) {
  switch (kind) {
    case 'token':
      return {
        method: 'GET',
        path: `/products?page=2&sovReqToken=bench-${(tokenCounter += 1)}-tok`,
      };
    case 'checkout': {
      const visitor = `${scenario === 'checkout-ours' ? 'o' : 'n'}-${(visitorCounter += 1)}`;
      return { method: 'POST', path: '/checkout', headers: { 'x-visitor': visitor } };
    }
    default:
      return { method: 'GET', path: '/products?page=2' };
  }
}

/** Sends `count` requests, `CONCURRENCY` at a time on keep-alive sockets. */
async function drive(port, kind, scenario, count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let left = count;
  const send = () =>
    new Promise((resolve, reject) => {
      const options = { host: '127.0.0.1', port, agent, ...requestFor(kind, scenario) };
      const req = http.request(options, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end();
    });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left > 0) {
        left -= 1;
        const { status, body } = await send();
        if (status !== 200) throw new Error(`the shop answered ${status}`);
        // A checkout that sent nothing would be counted as a cheap one.
        if (kind === 'checkout' && !body.includes('"sent"')) throw new Error(`checkout: ${body}`);
      }
    }),
  );
  agent.destroy();
}

const control = (pid, ...args) => spawnSync('callgrind_control', [...args, String(pid)]);

/** One shop under callgrind: warm it up, count `REQUESTS` requests, return instructions each. */
async function countOne(scenario, kind, env) {
  const dir = mkdtempSync(join(tmpdir(), 'sovendus-instr-'));
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(dir, 'out')}`,
      process.execPath,
      ...otelNodeArgs,
      'bench/shop.mjs',
    ],
    {
      env: { ...process.env, ...env, SCENARIO: scenario, NODE_ENV: 'production', BENCH_SLOW: '1' },
    },
  );
  let output = '';
  let errors = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => (errors += chunk));
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /READY (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`shop ${scenario} exited (${code}): ${errors}`)));
  });
  const counted = kind === 'checkout' ? CHECKOUTS : REQUESTS;
  try {
    await drive(port, kind, scenario, kind === 'checkout' ? CHECKOUT_WARMUP : WARMUP);
    control(child.pid, '-i', 'on');
    await drive(port, kind, scenario, counted);
  } catch (error) {
    // The shop's own words first (a failed capture ends it), not valgrind's.
    const said = errors.split('\n').filter((line) => line && !line.startsWith('=='));
    throw new Error(`shop ${scenario}: ${said.join('; ') || error.message}`, { cause: error });
  }
  control(child.pid, '-i', 'off');
  control(child.pid, '-d');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  // The dump holds the counted window; the file written at exit holds nothing (collection off).
  let total = 0;
  for (const file of readdirSync(dir)) {
    const match = /^totals: (\d+)$/m.exec(readFileSync(join(dir, file), 'utf8'));
    if (match) total += Number(match[1]);
  }
  rmSync(dir, { recursive: true, force: true });
  return total / counted;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const redis = await startThrowawayRedis();
const seeding = new Redis(redis.url);
// Every checkout of every run, warm-up included, on both sides (one counter for both).
await seedVisitors(seeding, PREFIX, 2 * RUNS * (CHECKOUT_WARMUP + CHECKOUTS) + 1);
seeding.disconnect();
const api = spawn(process.execPath, ['bench/fake-api.mjs'], {
  stdio: ['ignore', 'pipe', 'ignore'],
});
const apiUrl = await new Promise((resolve) => {
  let output = '';
  api.stdout.on('data', (chunk) => {
    output += chunk;
    const match = /READY (\S+)/.exec(output);
    if (match) resolve(match[1]);
  });
});
const env = { REDIS_URL: redis.url, API_URL: apiUrl, PREFIX };
const rows = [];
try {
  for (const [name, reference, ours, kind] of PLAN) {
    const counts = { reference: [], ours: [] };
    for (let run = 0; run < RUNS; run += 1) {
      // Both at once, one on each CPU: a count does not depend on what runs beside it.
      const [referenceCount, oursCount] = await Promise.all([
        countOne(reference, kind, env),
        countOne(ours, kind, env),
      ]);
      counts.reference.push(referenceCount);
      counts.ours.push(oursCount);
    }
    const referenceIr = median(counts.reference);
    const oursIr = median(counts.ours);
    rows.push({ name, counts, referenceIr, oursIr, ratio: referenceIr / oursIr });
  }
} finally {
  api.kill('SIGTERM');
  redis.child.kill('SIGKILL');
}

const k = (n) => `${Math.round(n / 1000).toLocaleString('en-US')} k`;
console.log(
  [
    `Node ${process.version}, callgrind, ${WARMUP.toLocaleString('en-US')} warm-up landings, then ${REQUESTS.toLocaleString('en-US')} counted (checkouts: ${CHECKOUT_WARMUP.toLocaleString('en-US')} and ${CHECKOUTS.toLocaleString('en-US')}), ${RUNS} runs each (median); OpenTelemetry: ${OTEL_MODE}`,
    '',
    '| comparison | reference instructions/req | ours instructions/req | ratio | runs (reference; ours) |',
    '|---|---:|---:|---|---|',
    ...rows.map(
      (row) =>
        `| ${row.name} | ${k(row.referenceIr)} | ${k(row.oursIr)} | ${row.ratio.toFixed(3)} | ${row.counts.reference.map(k).join(', ')}; ${row.counts.ours.map(k).join(', ')} |`,
    ),
  ].join('\n'),
);
writeFileSync(
  'bench/instructions.json',
  `${JSON.stringify({ node: process.version, otel: OTEL_MODE, warmup: WARMUP, requests: REQUESTS, rows }, null, 2)}\n`,
);
