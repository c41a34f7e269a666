// The output: one markdown table (a row per scenario), a few lines of detail under it, and
// chaos/results.json with everything that was measured.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { format, resolveConfig } from 'prettier';

const COLUMNS = [
  'scenario',
  'visitors',
  'lost',
  'lost, still stored',
  'never stored',
  'accepted twice (reported)',
  'resends reported',
  'shop requests failed',
  'landing p99 ms',
  'checkout p99 ms',
  'dead letters',
  'settled',
];
const NUMERIC = new Set(COLUMNS.slice(1, -1));

export function header({ visitors, concurrency, features }) {
  const cpu = cpus();
  const model = cpu[0]?.model?.trim() ?? 'unknown CPU';
  const sendLimit = features?.sendLimitMs ? 'accepted' : 'not supported by this build';
  return (
    `Node ${process.version}, ${cpu.length} CPUs (${model}), ${new Date().toISOString()}; ` +
    `${visitors} visitors per scenario, ${concurrency} at a time, 3 shop instances; ` +
    `sendLimitMs option: ${sendLimit}`
  );
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** The count, and how many of them the session store (not the package) caused. */
function failedCell({ requests }) {
  return requests.fromSessions > 0
    ? `${requests.failed} (${requests.fromSessions} session store)`
    : String(requests.failed);
}

/** BullMQ's failed set is the truth; `dead` events from a killed instance can be missing. */
function deadCell({ deadLetters, events }) {
  return events.dead === deadLetters
    ? String(deadLetters)
    : `${deadLetters} (${events.dead} events)`;
}

function row(result) {
  if (result.error) {
    return [result.scenario, '', '', '', '', '', '', '', '', '', `run failed: ${result.error}`];
  }
  const stale = result.staleClaimsAtEnd > 0 ? `, ${result.staleClaimsAtEnd} stale claims` : '';
  const settled = result.settled.settled
    ? `yes, ${seconds(result.settled.ms)}${stale}`
    : `did not settle (${seconds(result.settled.ms)})${stale}`;
  return [
    result.scenario,
    result.visitors,
    result.lost.lost,
    result.lost.stillStored,
    result.lost.notStored,
    `${result.acceptedTwice.tokens} (${result.acceptedTwice.reported})`,
    result.events.resend,
    failedCell(result),
    result.landing.p99 ?? '-',
    result.checkout.p99 ?? '-',
    deadCell(result),
    settled,
  ].map(String);
}

export function table(results) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  const rule = COLUMNS.map((column) => (NUMERIC.has(column) ? '---:' : '---'));
  return [line(COLUMNS), line(rule), ...results.map((result) => line(row(result)))].join('\n');
}

/** A few lines per scenario: the counts behind the row, and where its failures came from. */
export function details(results) {
  const lines = [];
  // The most frequent kinds first; results.json has them all.
  const list = (object, most = 6) => {
    const entries = Object.entries(object);
    if (entries.length === 0) return 'none';
    const shown = entries.slice(0, most).map(([key, value]) => `${key} ×${value}`);
    const more = entries.length - shown.length;
    return shown.join('; ') + (more > 0 ? `; ${more} more kinds` : '');
  };
  for (const result of results) {
    if (result.error) continue;
    const { events, requests, landing, checkout } = result;
    lines.push(
      `- **${result.scenario}**: events captured ${events.captured}, sent ${events.sent}, ` +
        `queued ${events.queued}, failed ${events.failed}, dead ${events.dead}, resend ` +
        `${events.resend}; max ms landing ${landing.max}, checkout ${checkout.max}; requests to ` +
        `the killed instance ${requests.toKilledInstance} (made again elsewhere ${requests.retried}); load ${seconds(result.loadMs)}.`,
      `  - checkouts: ${list(result.checkoutResults)}`,
      `  - lost by what the visitor saw: ${list(result.lost.byRequests)}`,
      `  - accepted twice by Sovendus' replies: ${list(result.acceptedTwice.replyPatterns)}`,
      `  - shop request failures: ${list(requests.failures)}`,
      `  - API calls the shops saw end without an answer: ${list(result.apiCallsWithoutAnswer)}`,
    );
    const { loadAverage1m, runnerLoopDelayMs, shopLoopDelayMs } = result.machine;
    const shopDelays = Object.values(shopLoopDelayMs).map((delay) => delay.p99);
    lines.push(
      `  - machine: load average ${loadAverage1m.join(' → ')}; event loop delay p99 ` +
        `runner ${runnerLoopDelayMs.p99} ms, shops ${shopDelays.join('/')} ms`,
    );
    if (result.instanceCrashes.length > 0) {
      lines.push(`  - instance crashes: ${result.instanceCrashes.map((c) => c.shop).join(', ')}`);
    }
    if (result.unhandledRejections.count > 0) {
      lines.push(`  - unhandled rejections: ${result.unhandledRejections.count}`);
    }
  }
  return lines.join('\n');
}

/** Written through prettier, so `npm run lint` passes with the file in the tree. */
export async function writeResults(path, results, meta) {
  const json = JSON.stringify({ meta, scenarios: results }, null, 2);
  const options = (await resolveConfig(path)) ?? {};
  writeFileSync(path, await format(json, { ...options, filepath: path }));
}
