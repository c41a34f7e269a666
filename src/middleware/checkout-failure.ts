import type { SovendusError } from '../errors.js';
import type { SovendusEventHub } from '../events.js';
import type { Log } from '../logging.js';
import type { ConversionFailed } from '../types.js';

/** Answers a checkout that failed before anything was read or sent. */
export type FailCheckout = (error: SovendusError) => ConversionFailed;

/**
 * A checkout that cannot start (its arguments, or the shop's own order id extractor, are
 * wrong) is a typed `failed` result like any other: emitted as `failed`, and logged at error
 * level, as such a mistake repeats on every checkout until the shop's code is fixed. Nothing
 * was read or sent: the session's token stays stored for a later checkout.
 */
export function checkoutFailure(log: Log, events: SovendusEventHub): FailCheckout {
  return (error) => {
    log.error({ code: error.code }, `conversion failed: ${error.message}`);
    events.emit('failed', { stage: 'conversion', error });
    return { status: 'failed', error, attempts: 0 };
  };
}
