// Loaded by jest outside its module mapper, hence the extensionless import.
import { hasRedisServer, redisAnswers, startRedisServer } from './redis-server';

/**
 * Finds the Redis the tests use: REDIS_URL, else 127.0.0.1:6379; when neither answers and
 * `redis-server` is on the PATH, starts a throwaway one (stopped in global-teardown).
 * Tests get the address as SOVENDUS_TEST_REDIS_URL and only touch keys under their own prefix.
 */
export default async function globalSetup(): Promise<void> {
  const candidate = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await redisAnswers(candidate)) {
    process.env.SOVENDUS_TEST_REDIS_URL = candidate;
    return;
  }
  if (!hasRedisServer) {
    throw new Error(
      `No Redis answers at ${candidate} and redis-server is not on the PATH. Start one ` +
        '(e.g. `redis-server --daemonize yes --port 6379 --save ""`), install it ' +
        '(`apt-get install redis-server`), or set REDIS_URL.',
    );
  }
  const server = await startRedisServer();
  process.env.SOVENDUS_TEST_REDIS_URL = server.url;
  process.env.SOVENDUS_TEST_REDIS_PID = String(server.pid);
}
