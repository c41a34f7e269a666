import { jobKindOf } from './job-ids.js';

/*
 * What the queue can tell about the last hour, read from BullMQ's sets by job id alone (no
 * job is loaded): the finished sets are scored by when each job finished, and a job id says
 * what the job is. Only deliveries that went through the queue are in it: a conversion sent
 * within its request never is.
 */

/** Jobs of each kind. */
export interface JobCounts {
  /** Conversions. */
  conversions: number;
  /** Coupon redemptions. */
  redemptions: number;
  /**
   * Follow-ups: a checkout's, or a `sendConversion()` / `redeemCoupon()` call's, queued before
   * the call and run once a claim lease has passed. Most find nothing left to do.
   */
  followUps: number;
}

/** The queue's figures at one moment, from {@link BullMQDeliveryQueue.figures}. */
export interface QueueFigures {
  /** When they were read, in milliseconds since the epoch. */
  at: number;
  /** Jobs that ended in the hour before `at`. */
  lastHour: {
    /** Done: sent from the queue, or found sent already (a follow-up: found nothing to do). */
    done: JobCounts;
    /** Dead: refused for good, or out of their retry window. */
    dead: JobCounts;
  };
  /** What waits now. */
  backlog: {
    /** Due now, waiting for a worker. */
    waiting: JobCounts;
    /** Being run by a worker. */
    running: JobCounts;
    /** Waiting for a time: a conversion or redemption its retry's backoff, a follow-up its lease. */
    delayed: JobCounts;
  };
  /** Dead letters kept (30 days), whenever they died. */
  deadLetters: JobCounts;
}

/**
 * What the figures read of a BullMQ queue (a `Queue` is one): described, not imported, so that
 * the package's declarations need no bullmq or ioredis types (optional peer dependencies).
 */
export interface JobSets {
  /** BullMQ's client: an ioredis one, of which only this is used. */
  readonly client: Promise<unknown>;
  toKey(type: string): string;
  getRanges(types: string[], start: number, end: number): Promise<string[]>;
}

/** What of the client is used: the ids of a sorted set within a range of scores. */
interface ScoredIds {
  zrangebyscore(key: string, min: number, max: string): Promise<string[]>;
}

const HOUR_MS = 3600 * 1000;

function countByKind(jobIds: readonly string[]): JobCounts {
  const counts: JobCounts = { conversions: 0, redemptions: 0, followUps: 0 };
  for (const jobId of jobIds) {
    const kind = jobKindOf(jobId);
    if (kind === 'conversion') counts.conversions += 1;
    else if (kind === 'redemption') counts.redemptions += 1;
    else counts.followUps += 1;
  }
  return counts;
}

/** The queue's figures now (`at`, milliseconds since the epoch). */
export async function readQueueFigures(queue: JobSets, at: number): Promise<QueueFigures> {
  // BullMQ's client is an ioredis one; BullMQ's own type of it names only what BullMQ uses.
  const client = (await queue.client) as ScoredIds;
  const since = at - HOUR_MS;
  const [done, dead, waiting, running, delayed, deadLetters] = await Promise.all([
    client.zrangebyscore(queue.toKey('completed'), since, '+inf'),
    client.zrangebyscore(queue.toKey('failed'), since, '+inf'),
    queue.getRanges(['waiting', 'prioritized'], 0, -1),
    queue.getRanges(['active'], 0, -1),
    queue.getRanges(['delayed'], 0, -1),
    queue.getRanges(['failed'], 0, -1),
  ]);
  return {
    at,
    lastHour: { done: countByKind(done), dead: countByKind(dead) },
    backlog: {
      waiting: countByKind(waiting),
      running: countByKind(running),
      delayed: countByKind(delayed),
    },
    deadLetters: countByKind(deadLetters),
  };
}
