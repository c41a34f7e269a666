import {
  CHECKOUT_ID_PREFIX,
  deliveryId,
  REDEMPTION_ID_PREFIX,
  type QueuedDelivery,
} from './delivery-queue.js';

/*
 * The BullMQ job id of a queued delivery, and what can be read back from one without loading
 * the job: the figures of `stats` count a set's ids by kind, one cheap read per set.
 */

/** What ends a follow-up's job id: it stands beside the delivery's immediate job, not for it. */
const FOLLOW_UP_SUFFIX = '.later';

/** The job id of `delivery`: its {@link deliveryId}, and the follow-up's suffix when it is one. */
export function jobIdOf(delivery: QueuedDelivery, followUp: boolean): string {
  return followUp ? `${deliveryId(delivery)}${FOLLOW_UP_SUFFIX}` : deliveryId(delivery);
}

/** What a job is, from its id: a conversion, a redemption, or a follow-up of either or of a checkout. */
export type JobKind = 'conversion' | 'redemption' | 'followUp';

/** The kind of the job `jobId` names. An id the package did not make counts as a conversion's. */
export function jobKindOf(jobId: string): JobKind {
  if (jobId.startsWith(CHECKOUT_ID_PREFIX) || jobId.endsWith(FOLLOW_UP_SUFFIX)) return 'followUp';
  return jobId.startsWith(REDEMPTION_ID_PREFIX) ? 'redemption' : 'conversion';
}
