import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { RedisTokenStore } from '../../src/index.js';

export interface TestRedis {
  client: Redis;
  /** Unique to this test file's run: every key a test writes starts with it. */
  prefix: string;
  store: RedisTokenStore;
  /** Deletes this run's keys (and only those) and disconnects. */
  close(): Promise<void>;
}

export function testRedisUrl(): string {
  const url = process.env.SOVENDUS_TEST_REDIS_URL;
  if (url === undefined) throw new Error('global-setup did not find a Redis');
  return url;
}

export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

export function connectTestRedis(): TestRedis {
  const client = new Redis(testRedisUrl());
  const prefix = `sovendus-test:${randomUUID()}:`;
  return {
    client,
    prefix,
    store: new RedisTokenStore({ client, prefix }),
    async close() {
      const keys = await keysUnder(client, prefix);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    },
  };
}
