import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import request from 'supertest';
import ts from 'typescript';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { createConsumerProject, repositoryRoot } from './support/consumer-project.js';
import { documentedFiles, snippetsOf } from './support/markdown-snippets.js';
import { keysUnder, testRedisUrl } from './support/redis.js';
import { freePort } from './support/redis-server.js';
import { TEST_TOKEN } from './support/shop.js';
import { waitFor } from './support/wait-for.js';

/**
 * The README's Quick start, stripped of its types and nothing else, runs as a shop's own file
 * would: its own process, the built package, a real Redis, and the fake Sovendus API in place
 * of the real one (through `SOVENDUS_API_BASE_URL`). A visitor lands with a test token and
 * orders; the conversion must reach the API.
 */

const quickStart = documentedFiles(repositoryRoot)
  .flatMap((file) => snippetsOf(repositoryRoot, file))
  .find((snippet) => snippet.marker === 'quick-start');

const API_KEY = 'quick-start-key';
// A product id of this run's own: the claim keys the Quick start writes are found by it.
const productId = randomUUID();

let api: FakeSovendusApi;
let shop: ChildProcess | undefined;
let output = '';
const redis = new Redis(testRedisUrl());
const project = createConsumerProject(['express', 'express-session', 'ioredis']);

beforeAll(async () => {
  api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [productId] });
});
afterAll(async () => {
  if (shop?.exitCode === null) {
    const running = shop;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  }
  // The Quick start uses the default prefix; only this run's keys are removed.
  const keys = await keysUnder(redis, `sovendus:claim:`);
  const ours = keys.filter((key) => key.includes(productId));
  if (ours.length > 0) await redis.del(...ours);
  redis.disconnect();
  await api.close();
  project.remove();
});

it('converts a landing token when the visitor orders, as plain JavaScript', async () => {
  if (quickStart === undefined) throw new Error('no <!-- snippet: quick-start --> block');
  const javascript = ts.transpileModule(quickStart.code, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  writeFileSync(join(project.dir, 'quick-start.mjs'), javascript);
  const port = await freePort();
  shop = spawn(process.execPath, ['quick-start.mjs'], {
    cwd: project.dir,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      SOVENDUS_PRODUCT_ID: productId,
      SOVENDUS_API_KEY: API_KEY,
      SOVENDUS_API_BASE_URL: api.url,
      REDIS_URL: testRedisUrl(),
      SESSION_SECRET: 'quick-start-secret',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  shop.stdout?.on('data', collect);
  shop.stderr?.on('data', collect);
  const listening = () => {
    if (shop?.exitCode !== null) throw new Error(`the Quick start exited:\n${output}`);
    return output.includes(`http://localhost:${port}/`);
  };
  await waitFor(listening, 'the Quick start to listen', { detail: () => output });

  const visitor = request.agent(`http://localhost:${port}`);
  const landing = await visitor.get(`/?sovReqToken=${TEST_TOKEN}`).expect(200);
  const sessionKey = /connect\.sid=s%3A([^.;]+)\./.exec(String(landing.headers['set-cookie']))?.[1];
  try {
    const thanks = await visitor.post('/checkout').type('form').send({ orderId: 'A-1001' });
    expect([thanks.status, thanks.text]).toEqual([200, expect.stringContaining('sent')]);
    expect(api.conversions.map((call) => [call.productId, call.token, call.apiKey])).toEqual([
      [productId, TEST_TOKEN, API_KEY],
    ]);
  } finally {
    if (sessionKey) await redis.del(`sovendus:token:${decodeURIComponent(sessionKey)}`);
  }
}, 30_000);
