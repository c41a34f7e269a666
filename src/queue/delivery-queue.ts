import type { SovendusError } from '../errors.js';

/** A conversion that failed transiently and waits for a later attempt. */
export interface QueuedConversion {
  token: string;
  productId: string;
  orderId?: string | undefined;
  /** The session whose stored token is deleted once the conversion is accepted. */
  sessionKey?: string | undefined;
}

/** What a delivery attempt from the queue came to. */
export type DeliveryVerdict =
  | { kind: 'done' }
  | { kind: 'retry'; error: SovendusError }
  | { kind: 'dead'; error: SovendusError };

/** What the queue calls to deliver a queued conversion; provided by the Sovendus instance. */
export type DeliverQueued = (
  conversion: QueuedConversion,
  attempt: { last: boolean },
) => Promise<DeliveryVerdict>;

/**
 * Keeps conversions that failed transiently, durably, and hands them back for delivery until
 * they succeed or their retry window ends. `BullMQDeliveryQueue` (from
 * `sovendus-express/bullmq`) is the implementation the package ships.
 */
export interface DeliveryQueue {
  /** Resolves once the conversion is stored durably; adding one that is already queued is a no-op. */
  enqueue(conversion: QueuedConversion): Promise<void>;
  /** Starts delivering queued conversions in this process. */
  startWorker(deliver: DeliverQueued): void;
  /** Stops the worker (letting a running delivery finish) and closes the queue's own connections. */
  close(): Promise<void>;
}
