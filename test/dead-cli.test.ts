import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { BullMQDeliveryQueue } from '../src/bullmq.js';
import { createSovendus, RedisTokenStore, type Sovendus } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { BIN, runBin, type Run } from './support/bin.js';
import { expectNoKeyPiece } from './support/key-echoes.js';
import {
  freePort,
  hasRedisServer,
  startRedisServer,
  type RedisServer,
} from './support/redis-server.js';
import { API_KEY, freshTestToken, PRODUCT_ID } from './support/shop.js';
import { eventually, waitFor } from './support/wait-for.js';

/*
 * `sovendus-express dead` and `stats`, the built bin run as an operator would, against the
 * queue's default keys in a Redis of the test's own, real BullMQ workers and the fake API.
 */

const OLD_KEY = 'OLDK-EYROT-ATEDAW-AY1';
const EMAIL = 'cli.dead@shop.example';
const EMAIL_HASH = createHash('md5').update(EMAIL).digest('hex');

interface ListedLetter {
  id: string;
  kind: string;
  code?: string;
  diedAt?: string;
  reason: string;
  token?: string;
  couponCode?: string;
}

(hasRedisServer ? describe : describe.skip)('sovendus-express dead and stats', () => {
  let redisServer: RedisServer;
  let api: FakeSovendusApi;
  let env: Record<string, string>;
  /** Every run's output: none may hold a secret (checked after each test). */
  let printed: string[] = [];
  /** The full tokens and e-mail hashes the tests queued. */
  const secrets: string[] = [EMAIL_HASH];
  const opened: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    redisServer = await startRedisServer();
    api = await startFakeSovendusApi({ apiKey: API_KEY });
    env = {
      SOVENDUS_API_KEY: API_KEY,
      SOVENDUS_PRODUCT_ID: PRODUCT_ID,
      REDIS_URL: redisServer.url,
    };
  });
  afterAll(async () => {
    await api.close();
    await redisServer.kill();
  });
  beforeEach(() => {
    api.reset();
    printed = [];
  });
  afterEach(async () => {
    await Promise.all([...opened].map((each) => each.close()));
    const all = printed.join('\n');
    expectNoKeyPiece(API_KEY, all);
    for (const secret of secrets) expect(all).not.toContain(secret);
    const reader = new Redis(redisServer.url);
    await reader.flushall(); // the test's own Redis: the next test starts from an empty queue
    reader.disconnect();
  });

  async function bin(...args: string[]): Promise<Run> {
    const run = await runBin(args, env);
    printed.push(run.stdout, run.stderr);
    return run;
  }

  /** An instance on the queue's default keys; its worker sends with `apiKey`. */
  function instance(apiKey: string): { sovendus: Sovendus; close: () => Promise<void> } {
    const client = new Redis(redisServer.url);
    const queueConnection = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    const sovendus = createSovendus({
      productId: PRODUCT_ID,
      apiKey,
      apiBaseUrl: api.url,
      coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
      store: new RedisTokenStore({ client }),
      queue: new BullMQDeliveryQueue({ connection: queueConnection, firstRetryDelayMs: 20 }),
      retry: { attempts: 1 },
    });
    const opening = {
      close: async () => {
        opened.splice(opened.indexOf(opening), 1);
        await sovendus.close();
        client.disconnect();
        queueConnection.disconnect();
      },
    };
    opened.push(opening);
    return { sovendus, close: opening.close };
  }

  /** Two dead letters: a conversion refused for its key, a redemption whose 422 quoted it. */
  async function twoDeadLetters(): Promise<{ token: string; orderId: string }> {
    const { sovendus: old, close } = instance(OLD_KEY);
    const token = freshTestToken();
    secrets.push(token);
    const orderId = `order-${randomUUID()}`;
    // One after the other, so that each meets its own answer: a 403 for the old key, and a
    // 422 that quotes the key and the hash.
    api.failNext(1, { status: 503 });
    const conversionDead = new Promise((resolve) => old.on('dead', resolve));
    expect((await old.sendConversion({ token, orderId })).status).toBe('queued');
    await conversionDead;
    api.failNext(1, { status: 503 });
    api.enqueue({ status: 422, body: { error: `Unknown key ${API_KEY} for ${EMAIL_HASH}` } });
    const redemptionDead = new Promise((resolve) => old.on('redemptionDead', resolve));
    const redemption = { couponCode: 'CLI-DEAD-CODE', orderId, email: EMAIL };
    expect((await old.redeemCoupon(redemption)).status).toBe('queued');
    await redemptionDead;
    // Its worker would take a retried dead letter and meet the old key again.
    await close();
    const reader = new Redis(redisServer.url);
    await waitFor(
      async () => (await reader.zcard('bull:sovendus-conversions:failed')) === 2,
      'both dead letters filed',
    );
    reader.disconnect();
    return { token, orderId };
  }

  async function listed(): Promise<ListedLetter[]> {
    const run = await bin('dead', 'list', '--json');
    expect(run.code).toBe(0);
    return (JSON.parse(run.stdout) as { deadLetters: ListedLetter[] }).deadLetters;
  }

  it('lists the dead letters, shortened and without secrets, as text and as JSON', async () => {
    const { token, orderId } = await twoDeadLetters();
    const letters = await listed();
    expect(letters.map((letter) => [letter.kind, letter.code]).sort()).toEqual([
      ['conversion', 'INVALID_API_KEY'],
      ['redemption', 'INVALID_PARAMETERS'],
    ]);
    expect(letters.find((letter) => letter.kind === 'conversion')).toMatchObject({
      token: `${token.slice(0, 8)}…`,
      diedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const text = await bin('dead', 'list');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('2 dead letter(s) in BullMQ queue "sovendus-conversions"');
    for (const letter of letters) expect(text.stdout).toContain(letter.id);
    expect(text.stdout).toContain(`token ${token.slice(0, 8)}…`);
    expect(text.stdout).toContain(`order ${orderId}`);
    expect(text.stdout).toContain('Sovendus rejected the API key (403)');
    const one = await bin('dead', 'list', '--limit=1');
    expect(one.stdout).toContain('the newest 1 shown');
  });

  it('retries a dead conversion once the key is fixed: sent once, and a second retry finds nothing', async () => {
    const { token } = await twoDeadLetters();
    const conversion = (await listed()).find((letter) => letter.kind === 'conversion')!;
    const { sovendus: fixed } = instance(API_KEY);
    const sent = new Promise((resolve) => fixed.on('sent', resolve));
    const retry = await bin('dead', 'retry', conversion.id);
    expect(retry).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('Retried 1 dead letter(s)'),
    });
    expect(await sent).toMatchObject({ token });
    expect(api.conversions.map((call) => call.token)).toEqual([token]);
    const again = await bin('dead', 'retry', conversion.id);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`Not found`);
    expect(again.stderr).toContain(conversion.id);
    expect((await listed()).map((letter) => letter.kind)).toEqual(['redemption']);
  });

  it('drops a dead letter, and retries all of them', async () => {
    await twoDeadLetters();
    const letters = await listed();
    const redemption = letters.find((letter) => letter.kind === 'redemption')!;
    expect((await bin('dead', 'drop', redemption.id)).code).toBe(0);
    expect((await listed()).map((letter) => letter.kind)).toEqual(['conversion']);
    const { sovendus: fixed } = instance(API_KEY);
    const sent = new Promise((resolve) => fixed.on('sent', resolve));
    expect((await bin('dead', 'retry', '--all')).stdout).toContain('Retried 1 dead letter(s)');
    await sent;
    expect(await listed()).toEqual([]);
    expect((await bin('dead', 'retry', '--all')).stdout).toContain('No dead letters');
    expect(api.redemptions).toHaveLength(0);
  });

  it('answers a wrong command line with exit code 2, without echoing what may be a token', async () => {
    const token = freshTestToken();
    secrets.push(token);
    const wrong = [
      ['dead'],
      ['dead', 'resurrect'],
      ['dead', 'retry'],
      ['dead', 'retry', '--all', '0123456789ab'],
      ['dead', 'drop'],
      ['dead', 'drop', token],
      ['dead', 'list', 'extra'],
      ['dead', 'list', '--limit=0'],
      ['stats', '--interval=0'],
      ['stats', '--watch'],
    ];
    for (const args of wrong) {
      const run = await bin(...args);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr).toContain('Usage: sovendus-express');
    }
    const help = await bin('dead', 'retry', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('sovendus-express dead retry ID... | --all');
  });

  it('says why it cannot read the queue, with the Redis password masked', async () => {
    const password = `pw-${randomUUID()}`;
    secrets.push(password);
    const port = await freePort();
    for (const args of [
      ['dead', 'list'],
      ['dead', 'drop', '0123456789ab'],
      ['stats', '--once'],
    ]) {
      const away = await runBin(args, {
        ...env,
        REDIS_URL: `redis://:${password}@127.0.0.1:${port}`,
      });
      printed.push(away.stdout, away.stderr);
      expect(away.code).toBe(1);
      expect(away.stderr).toContain('no answer from Redis at redis://:••••@127.0.0.1');
      const unset = await runBin(args, { SOVENDUS_API_KEY: API_KEY });
      printed.push(unset.stdout, unset.stderr);
      expect(unset).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('REDIS_URL is not set'),
      });
    }
  });

  it('prints the figures once, as a table or as JSON', async () => {
    await twoDeadLetters();
    const json = await bin('stats', '--once', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      lastHour: { dead: { conversions: 1, redemptions: 1, followUps: 0 } },
      deadLetters: { conversions: 1, redemptions: 1, followUps: 0 },
      // Each call left its follow-up, due once a lease has passed.
      backlog: { delayed: { conversions: 0, redemptions: 0, followUps: 2 } },
    });
    const table = await bin('stats', '--once');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/last hour {2}done +0 +0 +0\n {11}dead +1 +1 +0\n/);
    expect(table.stdout).toMatch(/dead letters kept +1 +1 +0/);
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'refreshes until %s, then stops cleanly',
    async (signal) => {
      const child = spawn(process.execPath, [BIN, 'stats', '--interval=1'], {
        env: { PATH: process.env.PATH, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      // Two frames: it refreshes, and is waiting for the next one when the signal comes.
      await eventually(() => {
        expect(output.match(/dead letters kept/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
      }, 15_000);
      child.kill(signal);
      expect(await exited).toBe(0);
      printed.push(output);
      expect(output).toContain('Refreshed every 1 s');
    },
  );
});
