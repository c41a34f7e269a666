import { settledWithin } from '../deadline.js';
import { SovendusUnavailableError, type SovendusError } from '../errors.js';
import type { QueuedDelivery } from '../queue/delivery-queue.js';
import type { DeliveryDuplicate, DeliveryFailed, DeliveryQueued, DeliverySent } from '../types.js';
import type { ClaimLedger, Taken } from './claim-ledger.js';
import type { Enqueue } from './enqueue.js';
import { notConfigured, type DeliveryTraits } from './traits.js';
import type { Report } from './report.js';
import type { SendAndSettle } from './send-and-settle.js';

/** What a shop's request gets for a delivery. */
export type RequestResult<Facts> =
  DeliverySent<Facts> | DeliveryDuplicate<Facts> | DeliveryQueued<Facts> | DeliveryFailed<Facts>;

/**
 * Delivers what a request has claimed: the shop waits `waitMs` for Sovendus at most; what is
 * not settled by then is queued (with a queue) or failed, and the call goes on.
 */
export type DeliverNow = <D extends QueuedDelivery, F>(
  traits: DeliveryTraits<D, F>,
  delivery: D,
  taken: Taken,
  /** Whether the caller queued a follow-up already (a checkout's); none: one is queued here. */
  queuedFollowUp?: boolean,
) => Promise<RequestResult<F>>;

/** What the request's side of the delivery service is wired from. */
export interface RequestDeliveryOptions {
  ledger: ClaimLedger;
  report: Report;
  sendAndSettle: SendAndSettle;
  /** The queue's add; none without a queue. */
  enqueue: Enqueue | undefined;
  track: <T>(work: Promise<T>) => Promise<T>;
  leaseMs: number;
  waitMs: number;
}

/** Sends a delivery for a request, waiting at most `waitMs`, queueing what is not settled. */
export function createDeliverNow(options: RequestDeliveryOptions): DeliverNow {
  const { ledger, report, sendAndSettle, enqueue, track, leaseMs, waitMs } = options;
  const enqueueNow = (delivery: QueuedDelivery, delayMs?: number) =>
    enqueue ? enqueue(delivery, delayMs) : Promise.resolve(false);

  return async (traits, delivery, taken, queuedFollowUp) => {
    /** `confirmQueued`: the queue took it (at once, or as a follow-up left earlier). */
    const queueOrFail = async (
      error: SovendusError,
      attempts: number,
      confirmQueued: () => Promise<boolean>,
    ) => {
      if (error.retryable && (await confirmQueued())) {
        return report.queued(traits, delivery, error, attempts);
      }
      const rejection = {
        facts: traits.facts(delivery),
        logFields: traits.logFields(delivery),
        error,
      };
      return report.failed(traits, rejection, attempts);
    };

    if (taken.outcome === 'failed') {
      return queueOrFail(taken.error, 0, () => enqueueNow(delivery));
    }
    if (taken.outcome === 'completed' || taken.outcome === 'held') {
      // Another sender has it now. Should it die mid-send, nobody would send it: a follow-up
      // looks once its lease has ended (a no-op if it was sent).
      if (taken.outcome === 'held' && !queuedFollowUp) await enqueueNow(delivery, leaseMs);
      return report.duplicate(traits, delivery, taken.outcome);
    }
    const send = traits.send;
    if (send === undefined) {
      await ledger.release(taken);
      const error = notConfigured(traits);
      return report.failed(
        traits,
        { facts: traits.facts(delivery), logFields: traits.logFields(delivery), error },
        0,
      );
    }

    // Written ahead of the call: with a queue, a follow-up looks once the claims' lease has
    // ended. Should this process die mid-send, the follow-up sends it (a `resumed` resend);
    // should the call still be going when the request stops waiting, or end unknown, it is
    // what stays queued; in every other case it finds the delivery settled and does nothing.
    // Awaited (within the store's bound), so that no call is out before its follow-up is in.
    const followedUp = queuedFollowUp ?? (await enqueueNow(delivery, taken.endsAt - Date.now()));
    const { watcher, ended } = sendAndSettle(traits, send, delivery, taken);
    const end = await settledWithin(track(ended), waitMs);
    if (end === undefined) {
      // Sovendus has not answered yet, but may: the call goes on (up to sendLimitMs) and its
      // outcome is recorded and emitted when it comes.
      const error = new SovendusUnavailableError(
        `no answer within ${waitMs} ms; the call goes on, and a "sent" event follows if it is taken`,
      );
      return queueOrFail(error, watcher.attempts, () => Promise.resolve(followedUp));
    }
    if (end.sent) return end.result;
    const { error, attempts, unknown } = end.outcome;
    // Maybe taken: its claims run out first, and the follow-up looks after them. Surely not
    // taken: it can go again at once.
    return queueOrFail(error, attempts, () =>
      unknown ? Promise.resolve(followedUp) : enqueueNow(delivery),
    );
  };
}
