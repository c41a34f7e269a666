import { BullMQDeliveryQueue } from '../../src/bullmq.js';
import {
  createSovendus,
  RedisTokenStore,
  type Sovendus,
  type SovendusEvents,
  type SovendusOptions,
} from '../../src/index.js';
import type { FakeSovendusApi } from '../../src/testing/index.js';
import { testRedisUrl, type TestRedis } from './redis.js';
import { API_KEY, PRODUCT_ID } from './shop.js';

/** The Redis a test's queues live in, as BullMQ connection options (for a raw Queue too). */
export function queueConnection() {
  const { hostname, port } = new URL(testRedisUrl());
  return { host: hostname, port: Number(port) };
}

/** A queue under the test's key prefix, fast retries: 20 ms, 40 ms, 80 ms ... */
export function testQueue(redis: TestRedis, name: string, retryWindowMs = 60_000) {
  return new BullMQDeliveryQueue({
    connection: queueConnection(),
    name,
    prefix: `${redis.prefix}bull`,
    firstRetryDelayMs: 20,
    retryWindowMs,
  });
}

/** An instance that queues into `queue` (and runs its worker), its store in the test's Redis. */
export function queuedInstance(
  redis: TestRedis,
  api: FakeSovendusApi,
  queue: BullMQDeliveryQueue,
  options: Partial<SovendusOptions> = {},
): Sovendus {
  return createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    apiBaseUrl: api.url,
    store: new RedisTokenStore({ client: redis.client, prefix: redis.prefix }),
    queue,
    retry: { attempts: 1 },
    // Generous: a busy machine must not turn these outcomes into store timeouts.
    storeTimeoutMs: 10_000,
    timeoutMs: 10_000,
    ...options,
  });
}

/** The next `event` that `sovendus` emits. */
export function nextEvent<E extends keyof SovendusEvents>(sovendus: Sovendus, event: E) {
  return new Promise<SovendusEvents[E]>((resolve) => {
    const off = sovendus.on(event, (payload) => {
      off();
      resolve(payload);
    });
  });
}
