import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { redisUrlField } from '../config/fields.js';
import { SETTINGS } from '../config/settings.js';
import type { BullMQDeliveryQueue } from '../queue/bullmq-queue.js';
import { maskUrl } from './doctor-masks.js';

/** Why a call failed, as a line may say it. */
export const reason = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/**
 * A client that keeps its connection errors for the report. Without a listener, ioredis prints
 * each one ("[ioredis] Unhandled error event") beside the command's own line, and that noise was
 * the only place the cause showed: the failed call itself only says "Connection is closed.".
 */
export function quietClient(Redis: typeof RedisClient, url: string, options: RedisOptions) {
  const client = new Redis(url, options);
  let lastError: unknown;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  /** Why a call failed: the connection's own error when there was one. */
  const cause = (failure: unknown) => reason(lastError ?? failure);
  return { client, cause };
}

/** The package's BullMQ queue, as `dead` and `stats` open it; `close` also drops the connection. */
export interface OpenedQueue {
  queue: BullMQDeliveryQueue;
  /** Where it is, as it may be shown (credentials masked). */
  where: string;
  /** Why a call failed: the connection's own error when there was one. */
  cause: (failure: unknown) => string;
  close(): Promise<void>;
}

/**
 * Opens the queue under its default name and prefix at REDIS_URL, as the `worker` command
 * uses it, once Redis answered; or says why not. Reads REDIS_URL alone: looking at the queue
 * needs no API key. A command fails rather than waits when Redis goes away: no reconnects.
 */
export async function openQueue(
  env: Record<string, string | undefined>,
): Promise<OpenedQueue | string> {
  const variable = SETTINGS.redisUrl.env;
  const url = env[variable] ?? '';
  if (url === '') return `${variable} is not set: the queue lives in Redis.`;
  if (!redisUrlField.safeParse(url).success) {
    return `${variable} must be a redis:// or rediss:// URL.`;
  }
  let modules;
  try {
    // Both are optional peer dependencies, needed only here.
    modules = await Promise.all([import('ioredis'), import('../queue/bullmq-queue.js')]);
  } catch {
    return 'the queue needs bullmq and ioredis installed.';
  }
  const [{ Redis }, { BullMQDeliveryQueue }] = modules;
  const where = maskUrl(url);
  const { client, cause } = quietClient(Redis, url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    return `no answer from Redis at ${where}: ${cause(error)}`;
  }
  const queue = new BullMQDeliveryQueue({ connection: client });
  return {
    queue,
    where,
    cause,
    close: async () => {
      await queue.close();
      client.disconnect();
    },
  };
}
