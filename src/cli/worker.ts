import type { Redis as RedisClient } from 'ioredis';
import { loadSovendusConfig } from '../config/env.js';
import { SETTINGS } from '../config/settings.js';
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
 * One line when a connection to Redis fails and one when it is back, instead of ioredis'
 * "[ioredis] Unhandled error event" and a stack for every reconnect attempt.
 */
function reportOutages(client: RedisClient, name: string): void {
  let down = false;
  client.on('error', (error: Error) => {
    if (down) return;
    down = true;
    console.error(
      `sovendus-express worker: ${name}: cannot reach Redis (${error.message}); retrying`,
    );
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    console.error(`sovendus-express worker: ${name}: Redis answers again`);
  });
}

/**
 * QUIT when Redis answers, so that replies still due arrive. Otherwise QUIT would wait in the
 * offline queue behind the commands already there, for as long as Redis stays away (forever,
 * on BullMQ's connection): SIGTERM must stop the worker, so the connection is just dropped.
 */
async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === 'ready') await client.quit();
  else client.disconnect();
}

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
      `The worker needs ${SETTINGS.redisUrl.env}: the queue and the tokens live there.`,
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
  reportOutages(client, 'token store');
  reportOutages(queueConnection, 'queue');
  const sovendus = createSovendus({
    ...options,
    store: new RedisTokenStore({ client }),
    queue: new BullMQDeliveryQueue({ connection: queueConnection }),
    worker: true,
    logger: consoleLogger,
  });
  return async () => {
    // Redis away: nothing can be drained through a client that is not connected, and BullMQ
    // must see its pending connection attempts fail while it still listens, not after.
    for (const connection of [client, queueConnection]) {
      if (connection.status !== 'ready') connection.disconnect();
    }
    await sovendus.close();
    await Promise.all([client, queueConnection].map(closeClient));
  };
}
