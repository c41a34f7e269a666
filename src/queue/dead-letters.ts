import { createHash } from 'node:crypto';
import { isProductId } from '../config/fields.js';
import { checkToken, maskToken } from '../conversion/token.js';
import type { SovendusError, SovendusErrorCode } from '../errors.js';
import { showableText } from '../http/sovendus-message.js';
import { checkOrderId } from '../order-id.js';
import { cutSecretPieces } from '../secret-pieces.js';

/*
 * Dead letters as an operator sees and handles them: BullMQ's failed set, read as hostile
 * input (whoever can write to the queue's Redis can write a job, or its failed reason), and
 * shown without a secret. Job ids are not shown: a conversion's holds its whole token. Each
 * dead letter has an id of its own instead, a short hash of its job id, which `retry` and
 * `drop` look up among the failed set's ids.
 */

/** One dead letter, as it may be shown: tokens and codes shortened, no e-mail hash, no session. */
export interface DeadLetter {
  /** Twelve hex digits: what `retryDead` and `dropDead` take. Stays the same when it dies again. */
  id: string;
  /** What it is; `unknown` for a job that is none of the package's kinds. */
  kind: 'conversion' | 'redemption' | 'checkout' | 'unknown';
  /** When it was queued, in milliseconds since the epoch. */
  queuedAt?: number;
  /** When it died (its last run ended), in milliseconds since the epoch. */
  diedAt?: number;
  /** How many runs it had (BullMQ's `attemptsMade`), since it was queued or last retried. */
  runs: number;
  /** Its last error's code; none for a reason the package did not write. */
  code?: SovendusErrorCode;
  /** Its last error's message, as it may be shown (printable text, at most 200 characters). */
  reason: string;
  /** A conversion's token, its first 8 characters. */
  token?: string;
  /** A conversion's product id. */
  productId?: string;
  /** The order id, when the delivery has one. */
  orderId?: string;
  /** A redemption's voucher code, its first 8 characters. */
  couponCode?: string;
}

/** What `retryDead` and `dropDead` did: the dead letters they handled, and the ids they did not find. */
export interface DeadLettersHandled {
  /** Ids of the dead letters retried (back in the queue) or dropped. */
  handled: string[];
  /** Ids given that name no dead letter (any more): a mistyped id, or one handled meanwhile. */
  notFound: string[];
}

/**
 * What this module reads of a failed BullMQ job, and does with it: described, not imported, so
 * that the package's declarations need no bullmq types (it is an optional peer dependency).
 */
export interface FailedJob {
  id?: string | undefined;
  data: unknown;
  timestamp: number;
  finishedOn?: number | undefined;
  attemptsMade: number;
  failedReason: string;
  retry(
    state: 'failed',
    options: { resetAttemptsMade: boolean; resetAttemptsStarted: boolean },
  ): Promise<void>;
  isFailed(): Promise<boolean>;
  remove(): Promise<void>;
}

/** What this module asks of a BullMQ queue (a `Queue` is one): its failed set. */
export interface FailedSet {
  getFailed(start: number, end: number): Promise<FailedJob[]>;
  getRanges(types: 'failed'[], start: number, end: number): Promise<string[]>;
  getJob(jobId: string): Promise<FailedJob | undefined>;
}

/** What a dead letter's id looks like. */
export const DEAD_LETTER_ID = /^[0-9a-f]{12}$/;

/** The most dead letters one `listDead` returns. */
export const MAX_LISTED = 10_000;

/** A dead letter's id: a short hash of its job id, which shows nothing of the token in it. */
export const deadLetterIdOf = (jobId: string): string =>
  createHash('sha256').update(jobId).digest('hex').slice(0, 12);

/**
 * The reason the worker gives BullMQ for a run that failed: the code first, so that whoever
 * reads the failed set (this module, a BullMQ dashboard) can tell what went wrong.
 */
export const failedReasonOf = (error: SovendusError): string => `${error.code}: ${error.message}`;

/** Every code, so that one read back from Redis is taken only when it is one (the compiler keeps it whole). */
const CODES: Record<SovendusErrorCode, true> = {
  INVALID_API_KEY: true,
  INVALID_PARAMETERS: true,
  WRONG_URL: true,
  UNAVAILABLE: true,
  UNEXPECTED_STATUS: true,
  INVALID_CONFIG: true,
  INVALID_TOKEN: true,
  INVALID_INPUT: true,
  STORE_UNAVAILABLE: true,
  INTERNAL: true,
};
const isCode = (text: string): text is SovendusErrorCode => Object.hasOwn(CODES, text);

/** A hostile failed reason holds no more than this is read of: it bounds the work on it. */
const MAX_REASON_READ = 1_000;

/** A count or a time BullMQ read back from Redis, when it is one. */
const wholeNumber = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;

/** Text from a job as it may be printed: printable, short, or nothing. */
const printable = (value: unknown): string | undefined =>
  typeof value === 'string' ? showableText(value, undefined) : undefined;

/** The code and message of a failed reason, without the job's own secrets in it. */
function readReason(
  failedReason: unknown,
  secrets: readonly string[],
): Pick<DeadLetter, 'code' | 'reason'> {
  const text = typeof failedReason === 'string' ? failedReason.slice(0, MAX_REASON_READ) : '';
  const [, code = '', message = text] = /^([A-Z_]{1,40}): ([^]*)$/.exec(text) ?? [];
  const known = isCode(code);
  const shown = showableText(
    cutSecretPieces(known ? message : text, secrets, '[redacted]'),
    undefined,
  );
  return { ...(known ? { code } : {}), reason: shown ?? '(no reason recorded)' };
}

/** The fields of the delivery a job carries that may be shown, as far as they are valid. */
function readDelivery(data: unknown): Omit<DeadLetter, 'id' | 'runs' | 'code' | 'reason'> {
  const job = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const orderId = checkOrderId(job.orderId);
  const order = orderId.ok && orderId.value !== undefined ? printable(orderId.value) : undefined;
  const withOrder = order === undefined ? {} : { orderId: order };
  switch (job.kind) {
    case 'conversion': {
      const token = checkToken(job.token);
      return {
        kind: 'conversion',
        ...(token.ok ? { token: maskToken(token.value) } : {}),
        ...(isProductId(job.productId) ? { productId: job.productId as string } : {}),
        ...withOrder,
      };
    }
    case 'redemption': {
      const code = printable(job.couponCode);
      return { kind: 'redemption', ...(code ? { couponCode: maskToken(code) } : {}), ...withOrder };
    }
    case 'checkout':
      return { kind: 'checkout', ...withOrder };
    default:
      return { kind: 'unknown' };
  }
}

/** A failed job as a dead letter. Never throws, whatever the job holds. */
export function readDeadLetter(job: FailedJob): DeadLetter {
  const data: unknown = job.data;
  const fields = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  // Whatever of them a reason might quote: the token, the e-mail hash, the session key.
  const secrets = [fields.token, fields.emailHash, fields.sessionKey].filter(
    (value): value is string => typeof value === 'string' && value !== '',
  );
  const queuedAt = wholeNumber(job.timestamp);
  const diedAt = wholeNumber(job.finishedOn);
  return {
    id: deadLetterIdOf(String(job.id)),
    ...readDelivery(data),
    ...(queuedAt === undefined ? {} : { queuedAt }),
    ...(diedAt === undefined ? {} : { diedAt }),
    runs: wholeNumber(job.attemptsMade) ?? 0,
    ...readReason(job.failedReason, secrets),
  };
}

/** The newest `limit` dead letters, newest first. */
export async function listDeadLetters(queue: FailedSet, limit: number): Promise<DeadLetter[]> {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LISTED) {
    throw new RangeError(`limit must be a whole number from 1 to ${MAX_LISTED}`);
  }
  const jobs: (FailedJob | undefined)[] = await queue.getFailed(0, limit - 1);
  // A job removed between the read of the ids and of the jobs comes back empty.
  return jobs.filter((job) => job !== undefined).map(readDeadLetter);
}

/** The job ids of the dead letters `ids` names (all of them: `all`), and the ids that name none. */
async function findDead(
  queue: FailedSet,
  ids: readonly string[] | 'all',
): Promise<{ found: Map<string, string>; notFound: string[] }> {
  // Typed for TypeScript callers; checked for JavaScript ones.
  const given: unknown = ids;
  if (given !== 'all' && !Array.isArray(given)) {
    throw new TypeError("ids must be an array of dead letter ids, or 'all'");
  }
  const jobIds = await queue.getRanges(['failed'], 0, -1);
  const byId = new Map(jobIds.map((jobId) => [deadLetterIdOf(jobId), jobId]));
  if (ids === 'all') return { found: byId, notFound: [] };
  const found = new Map<string, string>();
  const notFound: string[] = [];
  for (const id of new Set(ids)) {
    const jobId = typeof id === 'string' ? byId.get(id) : undefined;
    if (jobId === undefined) notFound.push(id);
    else found.set(id, jobId);
  }
  return { found, notFound };
}

/** Handles each dead letter found with `handle`; one it could not handle (gone meanwhile) is not found. */
async function handleDead(
  queue: FailedSet,
  ids: readonly string[] | 'all',
  handle: (job: FailedJob) => Promise<boolean>,
): Promise<DeadLettersHandled> {
  const { found, notFound } = await findDead(queue, ids);
  const handled: string[] = [];
  for (const [id, jobId] of found) {
    const job = await queue.getJob(jobId);
    const done = job !== undefined && (await handle(job).catch(() => false));
    (done ? handled : notFound).push(id);
  }
  return { handled, notFound };
}

/**
 * Puts dead letters back in the queue, with the whole retry window again: a worker runs them
 * through the claims, as any queued delivery, so one already sent is not sent again.
 */
export function retryDeadLetters(
  queue: FailedSet,
  ids: readonly string[] | 'all',
): Promise<DeadLettersHandled> {
  return handleDead(queue, ids, async (job) => {
    // Only from the failed set: BullMQ refuses (and we report not found) a job that left it.
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return true;
  });
}

/** Deletes dead letters for good. */
export function dropDeadLetters(
  queue: FailedSet,
  ids: readonly string[],
): Promise<DeadLettersHandled> {
  return handleDead(queue, ids, async (job) => {
    // A dead letter retried meanwhile is a delivery again: it is not dropped.
    if (!(await job.isFailed())) return false;
    await job.remove();
    return true;
  });
}
