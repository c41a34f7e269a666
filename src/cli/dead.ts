import type { DeadLetter, DeadLettersHandled } from '../queue/dead-letters.js';
import type { CliRequest } from './arguments.js';
import { openQueue, type OpenedQueue } from './redis-client.js';

/** Where a command writes: stdout and stderr, each line already masked. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

type DeadRequest = Extract<CliRequest, { command: `dead ${string}` }>;

/** A time as ISO text, or a dash. */
const when = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());

/** One dead letter in a few lines: what, when, how many runs and why, then what it was. */
function formatLetter(letter: DeadLetter): string {
  const runs = `${letter.runs} run${letter.runs === 1 ? '' : 's'}`;
  const facts = [
    ['token', letter.token],
    ['code', letter.couponCode],
    ['product', letter.productId],
    ['order', letter.orderId],
  ]
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name} ${value}`);
  return [
    `${letter.id}  ${letter.kind.padEnd(10)}  died ${when(letter.diedAt)}  ${runs}  ${letter.code ?? '(no code)'}`,
    ...(facts.length > 0 ? [`  ${facts.join('  ')}`] : []),
    `  ${letter.reason}`,
  ].join('\n');
}

async function list(
  { queue }: OpenedQueue,
  request: Extract<DeadRequest, { command: 'dead list' }>,
  io: CliOutput,
): Promise<number> {
  const [letters, total] = await Promise.all([
    queue.listDead({ limit: request.limit }),
    queue.deadCount(),
  ]);
  if (request.json) {
    const shown = letters.map((letter) => ({
      ...letter,
      queuedAt: letter.queuedAt === undefined ? undefined : when(letter.queuedAt),
      diedAt: letter.diedAt === undefined ? undefined : when(letter.diedAt),
    }));
    io.out(`${JSON.stringify({ queue: queue.name, total, deadLetters: shown }, null, 2)}\n`);
    return 0;
  }
  if (total === 0) {
    io.out(`No dead letters in BullMQ queue "${queue.name}".\n`);
    return 0;
  }
  const more = total > letters.length ? `, the newest ${letters.length} shown (--limit=N)` : '';
  io.out(
    [
      `${total} dead letter(s) in BullMQ queue "${queue.name}"${more}, newest first:`,
      '',
      ...letters.map(formatLetter).flatMap((text) => [text, '']),
      'Send again: sovendus-express dead retry ID... (or --all). Delete: sovendus-express dead drop ID...',
      '',
    ].join('\n'),
  );
  return 0;
}

/** Says what was handled, and which ids were not found (exit code 1 then). */
function report(done: DeadLettersHandled, what: string, io: CliOutput): number {
  if (done.handled.length === 0 && done.notFound.length === 0) {
    io.out('No dead letters: nothing to do.\n');
    return 0;
  }
  if (done.handled.length > 0) {
    io.out(`${what} ${done.handled.length} dead letter(s): ${done.handled.join(' ')}\n`);
  }
  if (done.notFound.length === 0) return 0;
  io.err(
    `Not found (not dead, or handled meanwhile; dead list shows them): ${done.notFound.join(' ')}\n`,
  );
  return 1;
}

/**
 * `sovendus-express dead list | retry | drop`: the dead letters of the queue at REDIS_URL.
 * Resolves to the exit code.
 */
export async function runDead(
  request: DeadRequest,
  env: Record<string, string | undefined>,
  io: CliOutput,
): Promise<number> {
  const opened = await openQueue(env);
  if (typeof opened === 'string') {
    io.err(`sovendus-express dead: ${opened}\n`);
    return 1;
  }
  try {
    switch (request.command) {
      case 'dead list':
        return await list(opened, request, io);
      case 'dead drop':
        return report(await opened.queue.dropDead(request.ids), 'Dropped', io);
      case 'dead retry': {
        const done = await opened.queue.retryDead(request.ids);
        const code = report(done, 'Retried', io);
        if (done.handled.length > 0) {
          io.out(
            'They are back in the queue: the workers (the shop instances, or sovendus-express ' +
              'worker) send them through the same claims. dead list shows any that fail again.\n',
          );
        }
        return code;
      }
    }
  } catch (error) {
    io.err(
      `sovendus-express dead: cannot read the queue at ${opened.where}: ${opened.cause(error)}\n`,
    );
    return 1;
  } finally {
    await opened.close();
  }
}
