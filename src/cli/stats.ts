import { setTimeout as sleep } from 'node:timers/promises';
import type { JobCounts, QueueFigures } from '../queue/queue-figures.js';
import type { CliRequest } from './arguments.js';
import type { CliOutput } from './dead.js';
import { openQueue } from './redis-client.js';

type StatsRequest = Extract<CliRequest, { command: 'stats' }>;

/** Moves the cursor home and clears the screen: each refresh replaces the last on a terminal. */
const CLEAR_SCREEN = '\u001b[H\u001b[2J';

const ROWS: [label: string, counts: (figures: QueueFigures) => JobCounts][] = [
  ['last hour  done', (figures) => figures.lastHour.done],
  ['           dead', (figures) => figures.lastHour.dead],
  ['backlog    waiting', (figures) => figures.backlog.waiting],
  ['           running', (figures) => figures.backlog.running],
  ['           delayed', (figures) => figures.backlog.delayed],
  ['dead letters kept', (figures) => figures.deadLetters],
];

/** The figures as a small table, by kind. */
export function formatFigures(
  figures: QueueFigures,
  heading: string,
  footer: string | undefined,
): string {
  const cell = (value: number | string) => String(value).padStart(13);
  const lines = [
    heading,
    '',
    `${''.padEnd(20)}${cell('conversions')}${cell('redemptions')}${cell('follow-ups')}`,
    ...ROWS.map(([label, counts]) => {
      const { conversions, redemptions, followUps } = counts(figures);
      return `${label.padEnd(20)}${cell(conversions)}${cell(redemptions)}${cell(followUps)}`;
    }),
    '',
    'Only deliveries that went through the queue are counted: a conversion sent within its',
    'request never is. Follow-ups wait a claim lease by design; most find nothing to do.',
    ...(footer === undefined ? [] : [footer]),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * `sovendus-express stats`: the queue's figures, once or every `intervalSeconds` until
 * `stopped` settles (SIGINT, SIGTERM). Resolves to the exit code once the queue is closed.
 */
export async function runStats(
  request: StatsRequest,
  env: Record<string, string | undefined>,
  io: CliOutput & { isTerminal: boolean },
  stopped: Promise<void>,
): Promise<number> {
  const opened = await openQueue(env);
  if (typeof opened === 'string') {
    io.err(`sovendus-express stats: ${opened}\n`);
    return 1;
  }
  const { queue, where } = opened;
  const stop = new AbortController();
  void stopped.then(() => {
    stop.abort();
  });
  const footer = request.once
    ? undefined
    : `Refreshed every ${request.intervalSeconds} s; Ctrl-C stops.`;
  try {
    while (!stop.signal.aborted) {
      const figures = await queue.figures();
      if (request.json) io.out(`${JSON.stringify(figures)}\n`);
      else {
        const heading = `sovendus-express stats: BullMQ queue "${queue.name}" at ${where}, ${new Date(figures.at).toISOString()}`;
        const table = formatFigures(figures, heading, footer);
        io.out(io.isTerminal && !request.once ? `${CLEAR_SCREEN}${table}` : `${table}\n`);
      }
      if (request.once) break;
      // Stopped while it waits: the wait ends at once, and so does the loop.
      await sleep(request.intervalSeconds * 1000, undefined, { signal: stop.signal }).catch(
        () => undefined,
      );
    }
    return 0;
  } catch (error) {
    io.err(`sovendus-express stats: cannot read the queue at ${where}: ${opened.cause(error)}\n`);
    return 1;
  } finally {
    await opened.close();
  }
}
