import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api';
import { settledWithin } from '../deadline.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';

/** A queue that can tell its backlog, as the BullMQ queue can. */
interface CountedQueue {
  /** Deliveries waiting, delayed or running. */
  pendingCount(): Promise<number>;
  /** Dead letters. */
  deadCount(): Promise<number>;
}

const PENDING: Attributes = Object.freeze({ 'sovendus.queue.state': 'pending' });
const DEAD: Attributes = Object.freeze({ 'sovendus.queue.state': 'dead' });

/** A count as a queue may answer it: anything else (from a queue of the shop's) is not shown. */
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * The queue's backlog as a gauge, read from the queue whenever the shop's SDK collects (every
 * instance reads the same queue: take the maximum). One read at a time, each waited for at
 * most `timeoutMs`: with Redis away, reads would otherwise pile up in its client. A queue
 * that cannot count (one of the shop's own) has no gauge. Returns what stops the readings.
 */
export function observeQueueBacklog(
  meter: Meter,
  queue: DeliveryQueue,
  timeoutMs: number,
): (() => void) | undefined {
  const counted = queue as DeliveryQueue & Partial<CountedQueue>;
  const { pendingCount, deadCount } = counted;
  if (typeof pendingCount !== 'function' || typeof deadCount !== 'function') return undefined;

  const read = async (): Promise<[unknown, unknown] | undefined> => {
    try {
      return await Promise.all([pendingCount.call(counted), deadCount.call(counted)]);
    } catch {
      return undefined; // the queue cannot be read now: no point this time
    }
  };
  /** The read under way, which a collection that comes meanwhile waits for too. */
  let reading: Promise<[unknown, unknown] | undefined> | undefined;
  const observe = async (result: ObservableResult) => {
    if (reading === undefined) {
      const started = read();
      reading = started;
      void started.then(() => {
        reading = undefined;
      });
    }
    const [pending, dead] = (await settledWithin(reading, timeoutMs)) ?? [];
    if (isCount(pending)) result.observe(pending, PENDING);
    if (isCount(dead)) result.observe(dead, DEAD);
  };

  const gauge = meter.createObservableGauge('sovendus.queue.deliveries', {
    description: 'Deliveries in the durable queue: pending (waiting, delayed, running) or dead.',
    unit: '{delivery}',
  });
  gauge.addCallback(observe);
  return () => {
    gauge.removeCallback(observe);
  };
}
