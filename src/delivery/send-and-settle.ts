import type { Log } from '../logging.js';
import type { QueuedDelivery } from '../queue/delivery-queue.js';
import type { DeliverySent, ResendReason } from '../types.js';
import type { ApiOutcome, SendWatcher } from '../http/api-sender.js';
import type { Claim, ClaimLedger } from './claim-ledger.js';
import type { DeliveryTraits } from './traits.js';
import type { Report } from './report.js';

/** How a send that held the claims ended, once settled. */
export type SendResult<Facts> =
  | { sent: true; result: DeliverySent<Facts> }
  | { sent: false; outcome: Extract<ApiOutcome, { ok: false }> };

/** A send under way: `watcher.attempts` counts its calls so far. */
export interface Sending<Facts> {
  /** Follows the send while it runs. */
  watcher: SendWatcher;
  /** Resolves once the send ended and its claims are settled. */
  ended: Promise<SendResult<Facts>>;
}

/** Sends a delivery whose claims are held, then settles them by what the send came to. */
export type SendAndSettle = <D extends QueuedDelivery, F>(
  traits: DeliveryTraits<D, F>,
  send: NonNullable<DeliveryTraits<D, F>['send']>,
  delivery: D,
  claim: Claim,
) => Sending<F>;

/** Sends through the delivery's API, then settles the claims, reports resends and results. */
export function createSendAndSettle(ledger: ClaimLedger, report: Report, log: Log): SendAndSettle {
  return (traits, send, delivery, claim) => {
    const watcher: SendWatcher = {
      attempts: 0,
      resend: (reason: ResendReason) => {
        report.resend(traits, delivery, reason);
      },
    };
    const ended = (async () => {
      if (claim.outcome === 'resumed') report.resend(traits, delivery, 'resumed');
      const outcome = await send(delivery, watcher);
      if (!outcome.ok) {
        await ledger.settle(claim, outcome.unknown ? 'unknown' : 'not-accepted', undefined);
        return { sent: false, outcome } as const;
      }
      await ledger.settle(claim, 'accepted', traits.consumed(delivery));
      const result = {
        status: 'sent',
        ...traits.facts(delivery),
        attempts: outcome.attempts,
      } as const;
      log.info(
        { ...traits.logFields(delivery), attempts: outcome.attempts },
        `${traits.noun} sent`,
      );
      traits.sent(result);
      return { sent: true, result } as const;
    })();
    return { watcher, ended };
  };
}
