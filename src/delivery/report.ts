import type { SovendusError } from '../errors.js';
import type { SovendusEventHub } from '../events.js';
import type { Log } from '../logging.js';
import type { DeliveryVerdict, QueuedDelivery } from '../queue/delivery-queue.js';
import type {
  ConversionNoToken,
  DeliveryDuplicate,
  DeliveryFailed,
  DeliveryQueued,
  ResendEvent,
  ResendReason,
} from '../types.js';
import type { Rejection } from './rejection.js';
import type { DeliveryTraits } from './traits.js';

/**
 * How the fate of a delivery is told: one log line at the level that fits, the event a shop
 * listens for, and the result the caller returns. Every path of the delivery service reports
 * through here, so that a shop sees the same words for the same fate wherever it was decided.
 */
export interface Report {
  /** A delivery that did not go through: logged, `failed` emitted, its result returned. */
  failed<D extends QueuedDelivery, F>(
    traits: DeliveryTraits<D, F>,
    rejection: Rejection<F>,
    attempts: number,
  ): DeliveryFailed<F>;
  /** A delivery put in the durable queue: logged, `queued` emitted, its result returned. */
  queued<D extends QueuedDelivery, F>(
    traits: DeliveryTraits<D, F>,
    delivery: D,
    error: SovendusError,
    attempts: number,
  ): DeliveryQueued<F>;
  /** A queued delivery given up: logged, `dead` emitted, the queue told to keep it. */
  dead<D extends QueuedDelivery, F>(
    traits: DeliveryTraits<D, F>,
    facts: Partial<F>,
    error: SovendusError,
  ): DeliveryVerdict;
  /** A delivery sent already, or being sent by another: logged, its result returned. */
  duplicate<D extends QueuedDelivery, F>(
    traits: DeliveryTraits<D, F>,
    delivery: D,
    claim: 'completed' | 'held',
  ): DeliveryDuplicate<F>;
  /** A checkout whose session holds no token: its result. */
  noToken(): ConversionNoToken;
  /** A send that may double an earlier one, which Sovendus may have taken. */
  resend<D extends QueuedDelivery, F>(
    traits: DeliveryTraits<D, F>,
    delivery: D,
    reason: ResendReason,
  ): void;
}

const NO_TOKEN: ConversionNoToken = Object.freeze({ status: 'no_token' });

/** Reports through the shop's logger and the instance's events. */
export function createReport(log: Log, events: SovendusEventHub): Report {
  return {
    failed(traits, { facts, logFields, error }, attempts) {
      const fields = { code: error.code, status: error.status, ...logFields };
      // Retryable trouble is the weather; a non-retryable error means the setup needs a human.
      if (error.retryable) log.warn(fields, `${traits.noun} failed: ${error.message}`);
      else log.error(fields, `${traits.noun} failed: ${error.message}`);
      traits.failed(facts, error);
      return { status: 'failed', error, attempts, ...facts };
    },
    queued(traits, delivery, error, attempts) {
      const queued = { status: 'queued', ...traits.facts(delivery), error, attempts } as const;
      log.warn(traits.logFields(delivery), `${traits.noun} queued: ${error.message}`);
      traits.queued(queued);
      return queued;
    },
    dead(traits, facts, error) {
      log.error({ code: error.code }, `${traits.noun} dead: ${error.message}`);
      // A dead letter of malformed input may lack facts; the event says what is known.
      traits.dead(facts as Parameters<typeof traits.dead>[0], error);
      return { decision: 'dead', error };
    },
    duplicate(traits, delivery, claim) {
      log.debug({ ...traits.logFields(delivery), claim }, `duplicate ${traits.noun}`);
      // Traits are a conversion's or a redemption's: a checkout follow-up has none of its own.
      events.emit('duplicate', { kind: traits.kind as ResendEvent['kind'] });
      return { status: 'duplicate', ...traits.facts(delivery) };
    },
    noToken() {
      // The usual checkout (most visitors did not come from Sovendus): no log line.
      events.emit('noToken', undefined);
      return NO_TOKEN;
    },
    resend(traits, delivery, reason) {
      // Every send that may double an earlier one is said, so that an operator can count them.
      log.warn(
        { ...traits.logFields(delivery), reason },
        `${traits.noun} sent again after an outcome that could not be known (${reason}): Sovendus may count it twice`,
      );
      events.emit('resend', {
        kind: traits.kind,
        reason,
        ...traits.facts(delivery),
      } as unknown as ResendEvent);
    },
  };
}
