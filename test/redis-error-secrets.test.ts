import { inspect } from 'node:util';
import Redis from 'ioredis';
import request from 'supertest';
import { BullMQDeliveryQueue } from '../src/bullmq.js';
import { RedisTokenStore, type Sovendus, type SovendusEvents } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { hasRedisServer, startRedisServer, type RedisServer } from './support/redis-server.js';
import { createShop, freshTestToken } from './support/shop.js';
import { waitFor } from './support/wait-for.js';

/**
 * ioredis puts the failed command on its errors (`command: { name, args }`), and our commands'
 * arguments hold the session id (in the token's key) and the token (in its value, in claim
 * names, in queued jobs). Neither may reach a log line, a result or an event.
 */

/** A logged object as a structured logger writes it: pino's `err` serializer keeps causes. */
function serialized(value: unknown): string {
  return JSON.stringify(value, (_key, field: unknown) =>
    field instanceof Error
      ? {
          ...Object.fromEntries(Object.entries(field)),
          type: field.name,
          message: field.message,
          stack: field.stack,
          cause: field.cause,
        }
      : typeof field === 'bigint'
        ? String(field)
        : field,
  );
}

const views = (thing: unknown) => [
  inspect(thing, { depth: 10, showHidden: true }),
  serialized(thing),
  (JSON.stringify(thing) as string | undefined) ?? '',
];

function expectNone(secrets: readonly string[], things: readonly unknown[]) {
  for (const view of things.flatMap(views)) {
    for (const secret of secrets)
      expect({ view, secret, found: view.includes(secret) }).toEqual({
        view,
        secret,
        found: false,
      });
  }
}

/** The session id express-session set, from its signed cookie (`s:<id>.<signature>`). */
function sessionIdOf(response: request.Response): string {
  const raw: unknown = response.headers['set-cookie'];
  const cookies = Array.isArray(raw) ? raw.join(';') : typeof raw === 'string' ? raw : '';
  const value = decodeURIComponent(/connect\.sid=([^;]+)/.exec(cookies)?.[1] ?? '');
  const id = /^s:([^.]+)\./.exec(value)?.[1];
  if (id === undefined) throw new Error('no session cookie');
  return id;
}

interface Logged {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

function recordingLogger(lines: Logged[], onLine: (line: Logged) => void = () => undefined) {
  const at =
    (level: string) =>
    (fields: object, message: string): void => {
      const line = { level, fields: fields as Record<string, unknown>, message };
      lines.push(line);
      onLine(line);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Whether writes to `client` are refused: it is a replica now. */
const refusesWrites = (client: Redis) =>
  client.set('sovendus-test:probe', '1').then(
    () => false,
    (error: unknown) => String(error).includes('READONLY'),
  );

(hasRedisServer ? describe : describe.skip)('a Redis error', () => {
  let primary: RedisServer;
  let other: RedisServer;
  let admin: Redis;
  let api: FakeSovendusApi;
  const opened: Sovendus[] = [];
  const clients: Redis[] = [];

  beforeAll(async () => {
    [primary, other] = await Promise.all([startRedisServer(), startRedisServer()]);
    admin = new Redis(primary.url);
    api = await startFakeSovendusApi();
  });
  afterAll(async () => {
    await Promise.all(opened.map((sovendus) => sovendus.close()));
    for (const client of [admin, ...clients]) client.disconnect();
    await api.close();
    await Promise.all([primary.kill(), other.kill()]);
  });
  afterEach(async () => {
    // Each test starts from a primary that takes writes.
    await admin.call('REPLICAOF', 'NO', 'ONE');
  });

  const connect = (options = {}) => {
    const client = new Redis(primary.url, options);
    clients.push(client);
    return client;
  };

  it('in a failover mid-checkout is logged without the token or the session id', async () => {
    let sayRecorded: () => void = () => undefined;
    const recorded = new Promise<void>((resolve) => (sayRecorded = resolve));
    let sayFailed: (line: Logged) => void = () => undefined;
    const recordFailed = new Promise<Logged>((resolve) => (sayFailed = resolve));
    const lines: Logged[] = [];
    const logger = recordingLogger(lines, (line) => {
      if (line.message.includes('not yet recorded as sent')) sayFailed(line);
      if (line.message.includes('recorded as sent') && line.level === 'info') sayRecorded();
    });
    const { app, sovendus } = createShop({
      store: new RedisTokenStore({ client: connect() }),
      apiBaseUrl: api.url,
      logger,
    });
    opened.push(sovendus);
    const visitor = request.agent(app);
    const token = freshTestToken();
    const sessionId = sessionIdOf(await visitor.get(`/?sovReqToken=${token}`).expect(200));

    // Sovendus takes the call, and answers only once the primary has become a replica.
    let answer: () => void = () => undefined;
    api.enqueue({ status: 200, until: new Promise<void>((resolve) => (answer = resolve)) });
    const checkout = visitor
      .post('/checkout')
      .send({})
      .then((response) => response);
    await waitFor(() => api.calls.length === 1, "Sovendus' call");
    await admin.call('REPLICAOF', '127.0.0.1', String(other.port));
    await waitFor(() => refusesWrites(admin), 'the primary to be a replica');
    answer();

    expect((await checkout).body).toMatchObject({ status: 'sent', token });
    const failed = await recordFailed;
    // It is Redis' error, with the command's name, that was logged...
    expect(inspect(failed.fields, { depth: 10 })).toMatch(/command/);
    // ...and neither the token nor the session it came from.
    expectNone([token, sessionId], lines);
    await admin.call('REPLICAOF', 'NO', 'ONE');
    await recorded;
  });

  it("in a result's or an event's error, or in a log line, carries no command arguments", async () => {
    await admin.call('REPLICAOF', '127.0.0.1', String(other.port));
    await waitFor(() => refusesWrites(admin), 'the primary to be a replica');
    const lines: Logged[] = [];
    const { app, sovendus } = createShop({
      store: new RedisTokenStore({ client: connect() }),
      queue: new BullMQDeliveryQueue({
        connection: connect({ maxRetriesPerRequest: null }),
        prefix: 'sovendus-test-bull',
      }),
      worker: false,
      apiBaseUrl: api.url,
      logger: recordingLogger(lines),
    });
    opened.push(sovendus);
    const events: SovendusEvents['failed'][] = [];
    sovendus.on('failed', (event) => events.push(event));

    const landing = freshTestToken();
    const visitor = request.agent(app);
    const sessionId = sessionIdOf(await visitor.get(`/?sovReqToken=${landing}`).expect(200));
    const token = freshTestToken();
    const result = await sovendus.sendConversion({ token });

    expect(result).toMatchObject({ status: 'failed', error: { code: 'STORE_UNAVAILABLE' } });
    expect(events.map((event) => event.stage)).toEqual(['capture', 'conversion']);
    // The queue's own Redis error was logged as it came (BullMQ's add, with the job in it).
    expect(lines.some((line) => line.message.includes('could not queue'))).toBe(true);
    // Results and events name the token on purpose; their errors must not repeat it.
    const errors = [result, ...events].map((each) => (each as { error?: unknown }).error);
    expect(errors).toHaveLength(3);
    expectNone([token, landing, sessionId], [...errors, ...lines]);
  });
});
