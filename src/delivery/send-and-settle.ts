import type { Log } from '../logging.js';
import type { QueuedDelivery } from '../queue/delivery-queue.js';
import type { DeliverySent, ResendReason } from '../types.js';
import type { ApiOutcome, SendWatcher } from '../http/api-sender.js';
import type { Claim, ClaimLedger } from './claim-ledger.js';
import type { Kind } from './kinds.js';
import type { Report } from './report.js';

/** How a send that held the claims ended, once settled. */
export type SendResult<Facts> =
  | { kind: 'sent'; result: DeliverySent<Facts> }
  | { kind: 'failed'; outcome: Extract<ApiOutcome, { ok: false }> };

/** A send under way: `watcher.attempts` counts its calls so far. */
export interface Sending<Facts> {
  /** Follows the send while it runs. */
  watcher: SendWatcher;
  /** Resolves once the send ended and its claims are settled. */
  ended: Promise<SendResult<Facts>>;
}

/** Sends a delivery whose claims are held, then settles them by what the send came to. */
export type SendAndSettle = <D extends QueuedDelivery, F>(
  kind: Kind<D, F>,
  send: NonNullable<Kind<D, F>['send']>,
  delivery: D,
  claim: Claim,
) => Sending<F>;

/** Sends through the kind's API, then settles the claims, reports resends and results. */
export function createSendAndSettle(ledger: ClaimLedger, report: Report, log: Log): SendAndSettle {
  return (kind, send, delivery, claim) => {
    const watcher: SendWatcher = {
      attempts: 0,
      resend: (reason: ResendReason) => {
        report.resend(kind, delivery, reason);
      },
    };
    const ended = (async () => {
      if (claim.outcome === 'resumed') report.resend(kind, delivery, 'resumed');
      const outcome = await send(delivery, watcher);
      if (!outcome.ok) {
        await ledger.settle(claim, outcome.unknown ? 'unknown' : 'not-accepted', undefined);
        return { kind: 'failed', outcome } as const;
      }
      await ledger.settle(claim, 'accepted', kind.consumed(delivery));
      const result = {
        status: 'sent',
        ...kind.facts(delivery),
        attempts: outcome.attempts,
      } as const;
      log.info({ ...kind.logFields(delivery), attempts: outcome.attempts }, `${kind.noun} sent`);
      kind.sent(result);
      return { kind: 'sent', result } as const;
    })();
    return { watcher, ended };
  };
}
