// The load generator: its own process, pinned to the other CPU. Closed loop: CONCURRENCY
// virtual users on a keep-alive agent, each sending its next request when the last one is
// answered. It alternates short bursts between the two shops of a comparison (A, B, A, B ...)
// so that both see the same machine noise, and prints one JSON line of results.
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';

const config = JSON.parse(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: config.concurrency });

// Each pair of shops gets tokens and visitors of its own: a checkout needs one who landed.
let tokenCounter = config.visitorOffset;
const visitorCounters = new Map();

function requestFor(side) {
  const url = new URL(side.url);
  const base = { host: url.hostname, port: url.port, agent, headers: {} };
  switch (side.kind) {
    case 'plain':
      return { ...base, method: 'GET', path: '/products?page=2' };
    case 'fresh-token':
      tokenCounter += 1;
      return {
        ...base,
        method: 'GET',
        path: `/products?page=2&sovReqToken=bench-${tokenCounter}-tok`,
      };
    case 'checkout': {
      const next = (visitorCounters.get(side.name) ?? config.visitorOffset) + 1;
      visitorCounters.set(side.name, next);
      return {
        ...base,
        method: 'POST',
        path: '/checkout',
        headers: { 'x-visitor': `${side.visitorPrefix}${next}` },
      };
    }
    default:
      throw new Error(`unknown kind ${side.kind}`);
  }
}

function send(options) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(options, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode, ns: Number(process.hrtime.bigint() - started) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Nanoseconds a process has run on a CPU, all its threads (JIT, GC) summed: read around each
 * burst, so that the CPU a shop spent serving it counts, and its warm-up and idle time do not.
 */
function cpuNs(pid) {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return total;
}

async function burst(side, ms) {
  const cpuBefore = cpuNs(side.pid);
  const latencies = [];
  let errors = 0;
  const until = performance.now() + ms;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: config.concurrency }, async () => {
      while (performance.now() < until) {
        const { status, ns } = await send(requestFor(side));
        if (status !== 200) errors += 1;
        latencies.push(ns / 1e6);
      }
    }),
  );
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    cpuNs: cpuNs(side.pid) - cpuBefore,
    errors,
    rps: latencies.length / (elapsed / 1000),
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
  };
}

const [a, b] = config.sides;
// Warm both up (JIT, connections) before anything counts.
const warmup = {
  [a.name]: (await burst(a, config.warmupMs)).requests,
  [b.name]: (await burst(b, config.warmupMs)).requests,
};
const results = { [a.name]: [], [b.name]: [], warmup };
for (let round = 0; round < config.bursts; round += 1) {
  // Alternate which side goes first, so neither always follows the other.
  const order = round % 2 === 0 ? [a, b] : [b, a];
  for (const side of order) results[side.name].push(await burst(side, config.burstMs));
}
agent.destroy();
console.log(JSON.stringify(results));
