import { callSafely } from '../callbacks.js';
import type { SovendusEventHub } from '../events.js';
import type { AttemptWatch } from '../http/api-sender.js';
import type { Log } from '../logging.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import { watchApiCalls } from './api-calls.js';
import { openTelemetryApi } from './open-telemetry-api.cjs';
import { countOutcomes } from './outcome-counters.js';
import { observeQueueBacklog } from './queue-backlog.js';

const ignore = (): void => undefined;

/** The instrumentation scope of the package's tracer and meter. */
const SCOPE = 'sovendus-express';

/** What the telemetry of an instance is made from. */
export interface TelemetryOptions {
  /** The `telemetry` option. */
  enabled: boolean;
  /** The instance's events, which the counters hear. */
  events: SovendusEventHub;
  /** The `queue` option, whose backlog a gauge reads. */
  queue: DeliveryQueue | undefined;
  /** How long a read of the queue's backlog is waited for: `storeTimeoutMs`. */
  storeTimeoutMs: number;
  log: Log;
}

/** The hooks of an instance's telemetry, besides the events its counters hear. */
export interface Telemetry {
  /** Hears each API call's attempts: a span each, and their answer times. */
  attempts: AttemptWatch;
  /** Counts a store call that missed its deadline (a property: the breaker calls it alone). */
  storeTimeout: () => void;
  /** Stops reading the queue's backlog, when the instance closes. */
  close(): void;
}

/**
 * The instance's OpenTelemetry instruments, or `undefined` (costing nothing from then on) when
 * the option turns it off or `@opentelemetry/api` is not installed. Instruments come from the
 * meter provider registered now: a shop registers its SDK before it creates the instance.
 */
export function createTelemetry(options: TelemetryOptions): Telemetry | undefined {
  if (!options.enabled) return undefined;
  const api = openTelemetryApi();
  if (api === undefined) return undefined;
  try {
    const meter = api.metrics.getMeter(SCOPE);
    countOutcomes(meter, options.events);
    const storeTimeouts = meter.createCounter('sovendus.store.timeouts', {
      description: 'Store calls that missed storeTimeoutMs.',
      unit: '{call}',
    });
    const stopBacklog =
      options.queue && observeQueueBacklog(meter, options.queue, options.storeTimeoutMs);
    return {
      attempts: watchApiCalls(api, api.trace.getTracer(SCOPE), meter),
      // Heard inside the store breaker's timer, which must run on whatever the SDK does.
      storeTimeout: () => {
        callSafely(() => {
          storeTimeouts.add(1);
        }, ignore);
      },
      close: () => {
        stopBacklog?.();
      },
    };
  } catch (error) {
    // An SDK that throws where the API promises not to: the shop goes on without telemetry.
    options.log.error({ err: error }, 'OpenTelemetry could not be set up; nothing is recorded');
    return undefined;
  }
}
