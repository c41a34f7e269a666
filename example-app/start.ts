// `npm start`. With no Sovendus settings it runs offline: tokens and sessions in memory, and the
// package's fake Sovendus API in this process. With a .env (see .env.example) it uses your
// settings, Redis for tokens and sessions when REDIS_URL is set, and the real API.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { RedisStore } from 'connect-redis';
import type { Redis } from 'ioredis';
import {
  createSovendus,
  loadSovendusConfig,
  RedisTokenStore,
  type SovendusOptions,
} from 'sovendus-express';
import { startFakeSovendusApi, type FakeSovendusApi } from 'sovendus-express/testing';
import { createExampleShop } from './app';
import { connectRedis, SESSION_STORE_REDIS, TOKEN_STORE_REDIS } from './redis';
import { describeConversion, describeRedemption, maskToken } from './views';

const TEST_TOKEN = '12345-test-123-12345';
const OFFLINE = {
  productId: '9bc72425-902c-3abf-9db8-8b186d7cb160',
  apiKey: 'OFFLINE-DEMO-KEY',
  trafficSourceNumber: '1234',
};
const THIRTY_DAYS_SECONDS = 2_592_000;

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = process.env;
  const offline =
    !env.SOVENDUS_PRODUCT_ID && !env.SOVENDUS_API_KEY && !env.SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER;

  let fakeApi: FakeSovendusApi | undefined;
  let redis: { tokens: Redis; sessions: Redis } | undefined;
  let options: SovendusOptions;
  if (offline) {
    fakeApi = await startFakeSovendusApi({
      apiKey: OFFLINE.apiKey,
      productIds: [OFFLINE.productId],
      trafficSourceNumbers: [OFFLINE.trafficSourceNumber],
    });
    options = {
      productId: OFFLINE.productId,
      apiKey: OFFLINE.apiKey,
      apiBaseUrl: fakeApi.url,
      coupons: { trafficSourceNumber: OFFLINE.trafficSourceNumber, apiBaseUrl: fakeApi.url },
    };
  } else {
    const { redisUrl, ...config } = loadSovendusConfig(env);
    // A client each: the two want different settings (see ./redis).
    redis =
      redisUrl === undefined
        ? undefined
        : {
            tokens: connectRedis(redisUrl, 'token store', TOKEN_STORE_REDIS),
            sessions: connectRedis(redisUrl, 'session store', SESSION_STORE_REDIS),
          };
    options = { ...config, store: redis && new RedisTokenStore({ client: redis.tokens }) };
  }

  const sovendus = createSovendus(options);
  sovendus.on('captured', ({ token }) => {
    console.log(`  · token ${maskToken(token)} captured`);
  });
  sovendus.on('sent', (result) => {
    console.log(`  ✓ ${describeConversion(result).detail}`);
  });
  sovendus.on('redeemed', (result) => {
    console.log(`  ✓ ${describeRedemption(result).detail}`);
  });
  sovendus.on('failed', ({ stage, error }) => {
    console.log(`  ✗ ${stage} failed: ${error.message}`);
  });

  const app = createExampleShop({
    sovendus,
    sessionSecret: env.SESSION_SECRET ?? 'example-only-secret-change-me',
    // Sessions in Redis too, with the cookie (and so the Redis TTL) as long as the token's.
    sessionStore: redis && new RedisStore({ client: redis.sessions, prefix: 'example-shop:sess:' }),
    sessionMaxAgeMs: (options.ttlSeconds ?? THIRTY_DAYS_SECONDS) * 1000,
  });

  const port = Number(env.PORT ?? 3000);
  const stop = (code: number) => {
    server.close();
    void sovendus
      .close()
      .then(() => fakeApi?.close())
      .then(() => Promise.all([redis?.tokens.quit(), redis?.sessions.quit()]))
      .finally(() => process.exit(code));
  };
  // Express 5 hands a failed listen to this callback, with no address to read.
  const server = app.listen(port, '127.0.0.1', (error?: NodeJS.ErrnoException) => {
    if (error) {
      console.error(listenProblem(port, error));
      stop(1);
      return;
    }
    const { port: chosen } = server.address() as AddressInfo;
    console.log(
      offline
        ? 'Example shop running offline, against the fake Sovendus API.'
        : `Example shop running with your Sovendus settings (${redis ? 'Redis' : 'memory'} store).`,
    );
    console.log(`Open http://127.0.0.1:${chosen}/?sovReqToken=${TEST_TOKEN} and buy something.`);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stop(0);
    });
  }
}

/** Why the shop could not listen on `port`, and what to do about it. */
function listenProblem(port: number, error: NodeJS.ErrnoException): string {
  const advice = 'Choose a free one with PORT, such as PORT=3001 npm start.';
  return error.code === 'EADDRINUSE'
    ? `Port ${port} is taken: another program listens there. ${advice}`
    : `Cannot listen on 127.0.0.1:${port} (${error.message}). ${advice}`;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
