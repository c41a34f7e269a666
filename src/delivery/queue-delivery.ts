import { checkConversion } from '../conversion/conversion-input.js';
import { SovendusConfigError, SovendusError, SovendusStoreError } from '../errors.js';
import { checkOrderId } from '../order-id.js';
import type {
  DeliverQueued,
  DeliveryVerdict,
  QueuedCheckout,
  QueuedDelivery,
} from '../queue/delivery-queue.js';
import type { ClaimLedger, Taken } from './claim-ledger.js';
import {
  notConfigured,
  type ConversionTraits,
  type DeliveryTraits,
  type RedemptionTraits,
} from './traits.js';
import type { Report } from './report.js';
import type { SendAndSettle } from './send-and-settle.js';

const BUSY = new SovendusError(
  'UNAVAILABLE',
  'Another sender holds this delivery right now; it is tried again later.',
  true,
);

/** What the queue's side of the delivery service is wired from. */
export interface QueueDeliveryOptions {
  conversion: ConversionTraits;
  redemption: RedemptionTraits;
  ledger: ClaimLedger;
  report: Report;
  sendAndSettle: SendAndSettle;
  track: <T>(work: Promise<T>) => Promise<T>;
  defaultProductId: string | undefined;
}

/**
 * The queue's side: a worker gives us a job, which is checked again (whoever can write to the
 * queue's Redis could forge one), claimed and sent like a request's, and the verdict tells the
 * queue to drop it, try it again later, or keep it as a dead letter.
 */
export function createDeliverQueued(options: QueueDeliveryOptions): DeliverQueued {
  const { conversion, redemption, ledger, report, sendAndSettle, track } = options;

  async function deliverFromQueue<D extends QueuedDelivery, F>(
    traits: DeliveryTraits<D, F>,
    queued: D,
    last: boolean,
  ): Promise<DeliveryVerdict> {
    const checked = traits.recheck(queued);
    if (!checked.ok) {
      report.failed(traits, checked.problem, 0);
      return report.dead(traits, checked.problem.facts, checked.problem.error);
    }
    const delivery = checked.value;
    // A claim answered late is released; the job's next run takes it again.
    const taken = await track(ledger.take(traits.claimKeys(delivery), undefined));
    return sendFromQueue(traits, delivery, taken, last);
  }

  /** Sends what the worker has claimed, and says what the queue should do next. */
  async function sendFromQueue<D extends QueuedDelivery, F>(
    traits: DeliveryTraits<D, F>,
    delivery: D,
    taken: Taken,
    last: boolean,
  ): Promise<DeliveryVerdict> {
    const send = traits.send;
    if (send === undefined)
      return report.dead(traits, traits.facts(delivery), notConfigured(traits));
    if (taken.outcome === 'completed') return { decision: 'done' };
    // The queue must not drop a delivery because someone else is sending it: they may fail.
    let error: SovendusError;
    if (taken.outcome === 'held') error = BUSY;
    else if (taken.outcome === 'failed') error = taken.error;
    else {
      const end = await track(sendAndSettle(traits, send, delivery, taken).ended);
      if (end.sent) return { decision: 'done' };
      error = end.outcome.error;
    }
    if (error.retryable && !last) return { decision: 'retry', error };
    return report.dead(traits, traits.facts(delivery), error);
  }

  /**
   * A checkout's follow-up: the session is read again and whatever token it holds is sent. No
   * token is the usual end (it was sent, or never stored): nothing to do.
   */
  async function followUpCheckout(job: QueuedCheckout, last: boolean): Promise<DeliveryVerdict> {
    const { sessionKey, checkoutAt } = job as Partial<QueuedCheckout>;
    const checkedOrderId = checkOrderId(job.orderId);
    if (
      typeof sessionKey !== 'string' ||
      sessionKey === '' ||
      typeof checkoutAt !== 'number' ||
      !checkedOrderId.ok
    ) {
      return report.dead(
        conversion,
        {},
        new SovendusConfigError('a malformed checkout follow-up.'),
      );
    }
    const orderId = checkedOrderId.value;
    const found = await track(ledger.takeSession(sessionKey, orderId, undefined));
    if (found instanceof SovendusStoreError) {
      return last ? report.dead(conversion, {}, found) : { decision: 'retry', error: found };
    }
    if (found === undefined) return { decision: 'done' };
    const delivery = checkConversion(
      { ...found.entry, orderId },
      sessionKey,
      options.defaultProductId,
    );
    // A token captured after the checkout is a later visit's, which has not ordered yet.
    if (!delivery.ok || found.entry.capturedAt > checkoutAt) {
      if (found.taken.outcome === 'acquired' || found.taken.outcome === 'resumed') {
        await ledger.release(found.taken);
      }
      if (!delivery.ok) report.failed(conversion, delivery.problem, 0);
      return { decision: 'done' };
    }
    return sendFromQueue(conversion, delivery.value, found.taken, last);
  }

  return (delivery, { last }) => {
    switch (delivery.kind) {
      case 'redemption':
        return deliverFromQueue(redemption, delivery, last);
      case 'checkout':
        return followUpCheckout(delivery, last);
      default:
        return deliverFromQueue(conversion, delivery, last);
    }
  };
}
