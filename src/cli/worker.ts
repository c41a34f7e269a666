import { loadSovendusConfig } from '../config/env.js';
import { SovendusConfigError } from '../errors.js';
import { createSovendus } from '../sovendus.js';
import { RedisTokenStore } from '../stores/redis-store.js';
import type { SovendusLogger } from '../types.js';

/** A logger for a process of its own: one line per event, on stderr. */
const consoleLogger: SovendusLogger = {
  info: (fields, message) => {
    console.error(message, JSON.stringify(fields));
  },
  warn: (fields, message) => {
    console.error(message, JSON.stringify(fields));
  },
  error: (fields, message) => {
    console.error(message, JSON.stringify(fields));
  },
};

/**
 * `sovendus-express worker`: delivers queued conversions and coupon redemptions in a process of its own, for shops
 * that create their instance with `worker: false`. Uses the queue's default name and prefix,
 * the same Redis (REDIS_URL) and the same settings as the shop. Resolves to a stop function.
 */
export async function startWorker(
  env: Record<string, string | undefined>,
): Promise<() => Promise<void>> {
  const { redisUrl, ...options } = loadSovendusConfig(env);
  if (redisUrl === undefined) {
    throw new SovendusConfigError(
      'The worker needs REDIS_URL: the queue and the tokens live there.',
    );
  }
  // Both are optional peer dependencies, needed only here.
  const [{ Redis }, { BullMQDeliveryQueue }] = await Promise.all([
    import('ioredis'),
    import('../queue/bullmq-queue.js'),
  ]);
  const client = new Redis(redisUrl);
  // BullMQ's worker blocks on its connection, which must never give up on a command.
  const queueConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const sovendus = createSovendus({
    ...options,
    store: new RedisTokenStore({ client }),
    queue: new BullMQDeliveryQueue({ connection: queueConnection }),
    worker: true,
    logger: consoleLogger,
  });
  return async () => {
    await sovendus.close();
    await Promise.all([client.quit(), queueConnection.quit()]);
  };
}
