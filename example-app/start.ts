// `npm start`. With no Sovendus settings it runs offline: tokens and sessions in memory, and the
// package's fake Sovendus API in this process. With a .env (see .env.example) it uses your
// settings, Redis for tokens and sessions when REDIS_URL is set, and the real API.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { RedisStore } from 'connect-redis';
import Redis from 'ioredis';
import {
  createSovendus,
  loadSovendusConfig,
  RedisTokenStore,
  type SovendusOptions,
} from 'sovendus-express';
import { startFakeSovendusApi, type FakeSovendusApi } from 'sovendus-express/testing';
import { createExampleShop } from './app';
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
  let redis: Redis | undefined;
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
    redis = redisUrl === undefined ? undefined : new Redis(redisUrl);
    options = { ...config, store: redis && new RedisTokenStore({ client: redis }) };
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
    sessionStore: redis && new RedisStore({ client: redis, prefix: 'example-shop:sess:' }),
    sessionMaxAgeMs: (options.ttlSeconds ?? THIRTY_DAYS_SECONDS) * 1000,
  });

  const server = app.listen(Number(env.PORT ?? 3000), '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(
      offline
        ? 'Example shop running offline, against the fake Sovendus API.'
        : `Example shop running with your Sovendus settings (${redis ? 'Redis' : 'memory'} store).`,
    );
    console.log(`Open http://127.0.0.1:${port}/?sovReqToken=${TEST_TOKEN} and buy something.`);
  });

  const shutdown = () => {
    server.close();
    void sovendus
      .close()
      .then(() => fakeApi?.close())
      .then(() => redis?.quit())
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
