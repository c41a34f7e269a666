// `npm start`: the example shop. With no configuration it runs offline, against the package's
// own fake Sovendus API; with a .env (see .env.example) it uses Redis and the real API.
import { existsSync } from 'node:fs';
import Redis from 'ioredis';
import { createSovendus, loadSovendusConfig, RedisTokenStore } from 'sovendus-express';
import { startFakeSovendusApi } from 'sovendus-express/testing';
import { createExampleShop, describeConversion } from './app.mjs';

if (existsSync('.env')) process.loadEnvFile('.env');

const TEST_TOKEN = '12345-test-123-12345';
const DEMO = { productId: '9bc72425-902c-3abf-9db8-8b186d7cb160', apiKey: 'DEMO-KEY-OFFLINE' };

const offline = !process.env.SOVENDUS_PRODUCT_ID && !process.env.SOVENDUS_API_KEY;
let fakeApi;
let options;
if (offline) {
  fakeApi = await startFakeSovendusApi({ apiKey: DEMO.apiKey, productIds: [DEMO.productId] });
  options = { ...DEMO, apiBaseUrl: fakeApi.url };
} else {
  const { redisUrl, ...config } = loadSovendusConfig();
  options = {
    ...config,
    store: redisUrl ? new RedisTokenStore({ client: new Redis(redisUrl) }) : undefined,
  };
}

const sovendus = createSovendus(options);
sovendus.on('sent', (result) => console.log(`  ✓ ${describeConversion(result)}`));
sovendus.on('failed', (event) => console.log(`  ✗ ${event.stage}: ${event.error.message}`));

const app = createExampleShop({
  sovendus,
  sessionSecret: process.env.SESSION_SECRET ?? 'example-only-secret',
});
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address();
  console.log(
    offline
      ? 'Example shop running offline, against the fake Sovendus API.'
      : 'Example shop running with your Sovendus settings.',
  );
  console.log(`Open http://localhost:${port}/?sovReqToken=${TEST_TOKEN} and buy the mug.`);
});

async function shutdown() {
  server.close();
  await sovendus.close();
  await fakeApi?.close();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
