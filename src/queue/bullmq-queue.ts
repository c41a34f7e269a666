import { Queue, UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import { EventEmitter } from 'node:events';
import type { IoRedisClient } from '../stores/redis-clients.js';
import {
  dropDeadLetters,
  failedReasonOf,
  listDeadLetters,
  retryDeadLetters,
  type DeadLetter,
  type DeadLettersHandled,
} from './dead-letters.js';
import {
  type DeliverQueued,
  type DeliveryQueue,
  type EnqueueOptions,
  type QueuedDelivery,
} from './delivery-queue.js';
import { jobIdOf } from './job-ids.js';
import { readQueueFigures, type QueueFigures } from './queue-figures.js';

const ignore = (): void => undefined;
/**
 * ioredis connection options, as BullMQ takes them: `host`, `port`, `password`, `tls`, and
 * whatever else ioredis accepts, and BullMQ's own `url` and `skipVersionCheck`. BullMQ checks
 * them; they are described here, not imported, so that these declarations need no bullmq types.
 */
export interface BullMQConnectionOptions {
  host?: string | undefined;
  port?: number | undefined;
  username?: string | undefined;
  password?: string | undefined;
  db?: number | undefined;
  /** A `redis://` URL (BullMQ's option). */
  url?: string | undefined;
  [option: string]: unknown;
}

/** What {@link BullMQDeliveryQueueOptions.connection} takes. */
export type BullMQConnection = BullMQConnectionOptions | IoRedisClient;

/** Options of {@link BullMQDeliveryQueue}. */
export interface BullMQDeliveryQueueOptions {
  /** Where the queue lives: ioredis options, or an ioredis client (the shop keeps owning it). */
  connection: BullMQConnection;
  /** The queue's name. Default `sovendus-conversions` (it carries coupon redemptions too). */
  name?: string;
  /** BullMQ's key prefix. Default `bull`. */
  prefix?: string;
  /** How long a delivery (conversion or redemption) is retried before it is dead, in milliseconds. Default 24 hours. */
  retryWindowMs?: number;
  /** The first retry's delay; each later one doubles. Default 30 seconds. */
  firstRetryDelayMs?: number;
  /** Deliveries made at once by one worker. Default `5`. */
  concurrency?: number;
}

/** The queue's name unless `name` says otherwise: the one `worker` and `doctor` use. */
export const DEFAULT_QUEUE_NAME = 'sovendus-conversions';
const DAY_MS = 24 * 3600 * 1000;

/**
 * How many runs of a job (BullMQ's `attempts`) fit the window with exponential backoff: the
 * waits are d, 2d, 4d, ..., so n runs span d·(2^(n-1) - 1); we take the smallest n that
 * reaches the window. (An attempt, elsewhere in this package, is one call to Sovendus.)
 */
export function attemptsForWindow(windowMs: number, firstDelayMs: number): number {
  return Math.max(1, Math.ceil(Math.log2(windowMs / firstDelayMs + 1)) + 1);
}

/**
 * The durable queue on BullMQ: a conversion that still fails after the in-request retries
 * becomes a job whose id is its idempotency key, so queueing it twice keeps one job. Workers in
 * any number of processes deliver it through the instance's own claims, so it is accepted at
 * most once however many workers there are. A job that runs out of its window, or meets a
 * final answer (403, 404, 422), stays in BullMQ's failed set: the dead letters.
 */
export class BullMQDeliveryQueue implements DeliveryQueue {
  /** The BullMQ queue's name. */
  readonly name: string;
  /** Runs per delivery (BullMQ's job `attempts`), from the retry window. */
  readonly attempts: number;
  readonly #queue: Queue<QueuedDelivery>;
  readonly #options: BullMQDeliveryQueueOptions;
  readonly #connection: ConnectionOptions;
  readonly #firstDelayMs: number;
  #worker: Worker<QueuedDelivery> | undefined;

  constructor(options: BullMQDeliveryQueueOptions) {
    this.#options = options;
    // BullMQ checks it; our type only describes what it takes, without needing its types.
    this.#connection = options.connection as ConnectionOptions;
    this.name = options.name ?? DEFAULT_QUEUE_NAME;
    this.#firstDelayMs = options.firstRetryDelayMs ?? 30_000;
    this.attempts = attemptsForWindow(options.retryWindowMs ?? DAY_MS, this.#firstDelayMs);
    this.#queue = new Queue<QueuedDelivery>(this.name, {
      connection: this.#connection,
      prefix: options.prefix ?? 'bull',
    });
    // A connection error is the connection's to report (the shop's client, the worker CLI's
    // one line), and an add that fails says so in its own result: unheard, BullMQ would print
    // each one with its stack.
    this.#queue.on('error', ignore);
  }

  /** Adds a job whose id is the delivery's {@link deliveryId}: adding it twice keeps one. */
  async enqueue(delivery: QueuedDelivery, options: EnqueueOptions = {}): Promise<void> {
    await this.#queue.add(delivery.kind, delivery, {
      // BullMQ ignores an add whose id exists: one job per token or per order and code, and
      // one follow-up beside it.
      jobId: jobIdOf(delivery, options.delayMs !== undefined),
      ...(options.delayMs === undefined ? {} : { delay: Math.max(0, options.delayMs) }),
      attempts: this.attempts,
      backoff: { type: 'exponential', delay: this.#firstDelayMs },
      removeOnComplete: { age: 3600 },
      // Dead letters are kept (30 days) for the doctor and for a human to look at.
      removeOnFail: { age: 30 * 24 * 3600 },
    });
  }

  /** Starts a BullMQ worker in this process (once), `concurrency` deliveries at a time. */
  startWorker(deliver: DeliverQueued): void {
    if (this.#worker) return;
    this.#worker = new Worker<QueuedDelivery>(
      this.name,
      async (job) => {
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        const verdict = await deliver(job.data, { last });
        if (verdict.decision === 'retry') throw new Error(failedReasonOf(verdict.error));
        if (verdict.decision === 'dead')
          throw new UnrecoverableError(failedReasonOf(verdict.error));
      },
      {
        connection: this.#connection,
        prefix: this.#options.prefix ?? 'bull',
        concurrency: this.#options.concurrency ?? 5,
      },
    );
    // Job failures are ours to report (as `dead` events); this keeps BullMQ from logging them.
    this.#worker.on('error', ignore);
  }

  /** How many deliveries are dead (out of retries, or refused for good). */
  deadCount(): Promise<number> {
    return this.#queue.getFailedCount();
  }

  /** How many deliveries wait (waiting, delayed or running). */
  pendingCount(): Promise<number> {
    return this.#queue.getJobCountByTypes('waiting', 'delayed', 'active', 'prioritized');
  }

  /**
   * The newest dead letters, newest first, as they may be shown: what, when, why, how many
   * runs; tokens and voucher codes shortened to 8 characters, no e-mail hash, no session.
   * `limit`: how many at most, 1 to 10,000; default 100.
   */
  listDead(options: { limit?: number | undefined } = {}): Promise<DeadLetter[]> {
    return listDeadLetters(this.#queue, options.limit ?? 100);
  }

  /**
   * Puts the dead letters `ids` names (`'all'`: every one) back in the queue, each with its
   * whole retry window again. A worker delivers them through the same claims as any delivery,
   * so one sent meanwhile is not sent again, and one that fails again is dead again, with its
   * new reason and the same id.
   */
  retryDead(ids: readonly string[] | 'all'): Promise<DeadLettersHandled> {
    return retryDeadLetters(this.#queue, ids);
  }

  /** Deletes the dead letters `ids` names, for good. */
  dropDead(ids: readonly string[]): Promise<DeadLettersHandled> {
    return dropDeadLetters(this.#queue, ids);
  }

  /** What the queue did in the last hour and holds now, by kind of delivery. */
  figures(): Promise<QueueFigures> {
    return readQueueFigures(this.#queue, Date.now());
  }

  /** Stops the worker, letting a running delivery finish, then closes the queue. */
  async close(): Promise<void> {
    if (this.#worker !== undefined) {
      await this.#worker.close();
      keepQuietAfterClose(this.#worker);
    }
    await this.#queue.close();
    keepQuietAfterClose(this.#queue);
  }
}

/**
 * BullMQ (5.81) closes its connection objects by removing all their listeners, but a connection
 * attempt still pending then (Redis unreachable) keeps a handler that re-emits its failure as
 * an `error` event on that object: with no listener left, the failure is an uncaught exception
 * that ends the process (2 of 20 SIGTERMs of `sovendus-express worker` on a busy machine). A
 * listener put back after the close takes it; nothing else is listening by then.
 */
function keepQuietAfterClose(closed: Worker | Queue): void {
  const fields = closed as unknown as Record<string, unknown>;
  for (const name of ['connection', 'blockingConnection']) {
    const connection = fields[name];
    if (connection instanceof EventEmitter && connection.listenerCount('error') === 0) {
      connection.on('error', ignore);
    }
  }
}
