import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installConsumer, pack, root, run } from './support/packed.js';

/**
 * The package as users get it: packed by npm from the build (`npm test` builds before jest
 * runs), installed offline from its tarball into consumer projects of their own, and used from
 * CommonJS, ESM and TypeScript. `full` is a shop with Express, express-session, ioredis,
 * bullmq (and their types) and OpenTelemetry's API and SDK; `bare` has none of them, only
 * Node's types.
 */
let work: string;
let tarball: string;
let bare: string;
let full: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sovendus-consumer-'));
  tarball = pack(work);
  bare = join(work, 'bare');
  full = join(work, 'full');
  installConsumer(bare, tarball, ['@types/node']);
  installConsumer(full, tarball, [
    '@types',
    'express',
    'express-session',
    'ioredis',
    'bullmq',
    '@opentelemetry',
  ]);
}, 60_000);
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

// Both consumers do a whole conversion against the packaged fake API.
const SMOKE = `
  const api = await startFakeSovendusApi();
  const sovendus = createSovendus({
    productId: '9bc72425-902c-3abf-9db8-8b186d7cb160', apiKey: 'KEY', apiBaseUrl: api.url,
  });
  const result = await sovendus.sendConversion({ token: '12345-test-123-12345' });
  await api.close();
  console.log(result.status, new SovendusConfigError('x') instanceof SovendusError, attemptsForWindow(100, 20));
`;

it('works from CommonJS, all three entry points', () => {
  writeFileSync(
    join(full, 'consumer.cjs'),
    `const { createSovendus, SovendusError, SovendusConfigError } = require('sovendus-express');
     const { startFakeSovendusApi } = require('sovendus-express/testing');
     const { attemptsForWindow } = require('sovendus-express/bullmq');
     (async () => {${SMOKE}})();`,
  );
  expect(run('node', ['consumer.cjs'], full).trim()).toBe('sent true 4');
});

it('works from ESM, all three entry points', () => {
  writeFileSync(
    join(full, 'consumer.mjs'),
    `import { createSovendus, SovendusError, SovendusConfigError } from 'sovendus-express';
     import { startFakeSovendusApi } from 'sovendus-express/testing';
     import { attemptsForWindow } from 'sovendus-express/bullmq';
     ${SMOKE}`,
  );
  expect(run('node', ['consumer.mjs'], full).trim()).toBe('sent true 4');
});

// The shop's SDK with in-memory exporters, then a conversion; prints what reached the SDK.
const OTEL_SMOKE = `
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
  );
  ${SMOKE}
  await reader.forceFlush();
  const [sent] = exporter.getMetrics().at(-1).scopeMetrics
    .flatMap((scope) => scope.metrics)
    .filter((data) => data.descriptor.name === 'sovendus.conversions');
  console.log(sent.dataPoints[0].value, spans.getFinishedSpans().map((span) => span.name).join());
`;
const OTEL_SETUP = `
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3600000 });
  const spans = new InMemorySpanExporter();
`;
const OTEL_OUTPUT = 'sent true 4\n1 POST /ext/{productId}/{token}/api';

it('records through OpenTelemetry from CommonJS and ESM when the shop installed it', () => {
  writeFileSync(
    join(full, 'otel.cjs'),
    `const { metrics, trace } = require('@opentelemetry/api');
     const {
       AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader,
     } = require('@opentelemetry/sdk-metrics');
     const {
       BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor,
     } = require('@opentelemetry/sdk-trace-base');
     const { createSovendus, SovendusError, SovendusConfigError } = require('sovendus-express');
     const { startFakeSovendusApi } = require('sovendus-express/testing');
     const { attemptsForWindow } = require('sovendus-express/bullmq');
     ${OTEL_SETUP}
     (async () => {${OTEL_SMOKE}})();`,
  );
  writeFileSync(
    join(full, 'otel.mjs'),
    `import { metrics, trace } from '@opentelemetry/api';
     import {
       AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader,
     } from '@opentelemetry/sdk-metrics';
     import {
       BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor,
     } from '@opentelemetry/sdk-trace-base';
     import { createSovendus, SovendusError, SovendusConfigError } from 'sovendus-express';
     import { startFakeSovendusApi } from 'sovendus-express/testing';
     import { attemptsForWindow } from 'sovendus-express/bullmq';
     ${OTEL_SETUP}
     ${OTEL_SMOKE}`,
  );
  expect(run('node', ['otel.cjs'], full).trim()).toBe(OTEL_OUTPUT);
  expect(run('node', ['otel.mjs'], full).trim()).toBe(OTEL_OUTPUT);
});

it('loads nothing of OpenTelemetry where it is not installed', () => {
  writeFileSync(
    join(bare, 'no-otel.cjs'),
    `const { createSovendus } = require('sovendus-express');
     const { startFakeSovendusApi } = require('sovendus-express/testing');
     (async () => {
       const api = await startFakeSovendusApi();
       const sovendus = createSovendus({
         productId: '9bc72425-902c-3abf-9db8-8b186d7cb160', apiKey: 'KEY', apiBaseUrl: api.url,
       });
       const result = await sovendus.sendConversion({ token: '12345-test-123-12345' });
       await api.close();
       const loaded = Object.keys(require.cache).filter((path) => path.includes('opentelemetry'));
       console.log(result.status, JSON.stringify(loaded));
     })();`,
  );
  expect(run('node', ['no-otel.cjs'], bare).trim()).toBe('sent []');
});

it('tells its errors from the CommonJS and the ESM build alike (the dual-package hazard)', () => {
  writeFileSync(
    join(bare, 'errors.mjs'),
    `import { createRequire } from 'node:module';
     import { inspect } from 'node:util';
     import * as esm from 'sovendus-express';
     const cjs = createRequire(import.meta.url)('sovendus-express');
     const fromCjs = new cjs.SovendusStoreError('read the token', new Error('down'));
     const fromEsm = new esm.SovendusConfigError('bad');
     console.log(JSON.stringify([
       fromCjs instanceof esm.SovendusError,
       esm.isSovendusError(fromCjs), cjs.isSovendusError(fromEsm),
       esm.isSovendusError(fromCjs, 'STORE_UNAVAILABLE'),
       esm.isSovendusError(fromCjs, 'INVALID_CONFIG'),
       cjs.isSovendusError(new Error('x')), cjs.isSovendusError({ code: 'INTERNAL' }),
       Object.keys(fromEsm).join(), inspect(fromCjs).includes('Symbol('),
     ]));`,
  );
  expect(JSON.parse(run('node', ['errors.mjs'], bare))).toEqual([
    false, // what isSovendusError is for
    true,
    true,
    true,
    false,
    false,
    false,
    // The brand shows nowhere: not in the keys, nor in a logged error.
    'name,code,status,retryable,sovendusMessage',
    false,
  ]);
});

/** Compiler options of every consumer: strict, and the package's own declarations checked. */
const STRICT = {
  target: 'es2022',
  strict: true,
  exactOptionalPropertyTypes: true,
  noEmit: true,
  skipLibCheck: false,
  // Not TypeScript's own lib files, which no consumer's setting changes: half the time.
  skipDefaultLibCheck: true,
  esModuleInterop: true,
  types: ['node'],
};
const NODE16 = { module: 'node16', moduleResolution: 'node16' };
const BUNDLER = { module: 'esnext', moduleResolution: 'bundler' };

// A shop on Express, with every optional peer: its callbacks see Express' request.
const EXPRESS_APP = `
  import express, { type Request } from 'express';
  import session from 'express-session';
  import { Cluster, Redis } from 'ioredis';
  import {
    createSovendus, isSovendusError, RedisTokenStore, sovendusConvert, type ConversionResult,
  } from 'sovendus-express';
  import { startFakeSovendusApi } from 'sovendus-express/testing';
  import { BullMQDeliveryQueue } from 'sovendus-express/bullmq';

  const [DE, AT] = ['9bc72425-902c-3abf-9db8-8b186d7cb160', '2f6b0e38-7a4c-4b8e-9a52-3c1d5e7f9a10'];
  const client = new Redis({ lazyConnect: true });
  new RedisTokenStore({ client: new Cluster([{ host: 'localhost', port: 7000 }]) });
  const queue = new BullMQDeliveryQueue({ connection: client });
  new BullMQDeliveryQueue({ connection: { host: 'localhost', maxRetriesPerRequest: null } });
  const sovendus = createSovendus<Request>({
    productId: (req) => (req.hostname.endsWith('.at') ? AT : DE),
    apiKey: 'KEY',
    store: new RedisTokenStore({ client }),
    getSessionKey: (req) => req.sessionID,
    queue,
  });
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(session({ secret: 'secret', resave: false, saveUninitialized: false }));
  app.use(sovendus.capture());
  const checkout = sovendus.convert({ orderId: (req) => req.body.orderId });
  app.post('/checkout', checkout, async (req, res) => {
    const fromHook: ConversionResult | undefined = res.locals.sovendus;
    const direct = await req.sovendus.complete({ orderId: 42 });
    if (direct.status === 'failed') console.log(direct.error.code, direct.error.retryable);
    res.json({ fromHook, direct });
  });
  app.post('/order', sovendusConvert(sovendus, { orderId: (req) => req.get('x-order-id') }));
  app.use((error: unknown, _req: Request, res: express.Response, next: express.NextFunction) => {
    if (isSovendusError(error, 'STORE_UNAVAILABLE')) {
      const code: 'STORE_UNAVAILABLE' = error.code;
      res.status(503).json({ code, retryable: error.retryable });
    } else next(error);
  });
  void startFakeSovendusApi;
`;

// A shop on Node's own server with none of the optional peers installed, nor their types.
const NODE_APP = `
  import { createServer } from 'node:http';
  import {
    createSovendus, isSovendusError, MemoryTokenStore, RedisTokenStore, type NodeRedisClient,
  } from 'sovendus-express';
  import type { BullMQDeliveryQueue, BullMQDeliveryQueueOptions } from 'sovendus-express/bullmq';
  import { startFakeSovendusApi } from 'sovendus-express/testing';

  const sovendus = createSovendus({
    productId: '9bc72425-902c-3abf-9db8-8b186d7cb160',
    apiKey: 'KEY',
    store: new MemoryTokenStore({ maxEntries: 100 }),
    getSessionKey: (req) => req.headers.cookie,
  });
  const capture = sovendus.capture();
  const convert = sovendus.convert({ orderId: (req) => req.url });
  createServer((req, res) => {
    capture(req, res, () => convert(req, res, () => res.end()));
  });
  declare const nodeRedis: NodeRedisClient;
  new RedisTokenStore({ client: nodeRedis });
  const options: BullMQDeliveryQueueOptions = { connection: { host: 'localhost' } };
  declare const queue: BullMQDeliveryQueue;
  void [options, queue, startFakeSovendusApi, isSovendusError(new Error('x'))];
`;

/** Writes one consumer project: its files and a tsconfig; answers the tsconfig's path. */
function project(
  dir: string,
  name: string,
  options: Record<string, unknown>,
  files: Record<string, string>,
): string {
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  const tsconfig = join(dir, `tsconfig.${name}.json`);
  writeFileSync(
    tsconfig,
    JSON.stringify({ compilerOptions: { ...STRICT, ...options }, files: Object.keys(files) }),
  );
  return tsconfig;
}

it('type-checks strictly, node16 (CJS, ESM) and bundler, with or without optional peers', () => {
  const projects = [
    project(full, 'node16', NODE16, { 'express.cts': EXPRESS_APP, 'express.mts': EXPRESS_APP }),
    project(full, 'bundler', BUNDLER, { 'express.ts': EXPRESS_APP }),
    project(bare, 'node16', NODE16, { 'node.cts': NODE_APP, 'node.mts': NODE_APP }),
    project(bare, 'bundler', BUNDLER, { 'node.ts': NODE_APP }),
  ];
  // What makes `bare` bare: nothing of the optional peers resolves from it.
  const resolveFromBare = createRequire(join(bare, 'node.cts')).resolve;
  const peers = ['ioredis', 'bullmq', 'express', '@types/express', 'express-session'];
  for (const peer of [...peers, '@opentelemetry/api']) {
    expect(() => resolveFromBare(`${peer}/package.json`)).toThrow(/Cannot find module/);
  }
  // One compiler process for all four: each project is its own program, with its own settings.
  let output = '';
  try {
    run('node', [join(root, 'node_modules/typescript/bin/tsc'), '-b', ...projects], work);
  } catch (error) {
    output = String((error as { stdout?: unknown }).stdout);
  }
  expect(output).toBe('');
});

it('passes attw under all four resolutions, and publint without a word', () => {
  const check = spawnSync('node', ['scripts/check-package.mjs', tarball], {
    cwd: root,
    encoding: 'utf8',
  });
  // The whole report on failure: what attw or publint found.
  expect([check.status, check.stdout]).toEqual([0, expect.stringContaining('No problems found')]);
});

it('runs its command line by path, as the build leaves it and as npm installs it', () => {
  const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  // Executed, not given to node: the build must leave it executable, or a shell answers
  // "Permission denied" to `npx sovendus-express` in the repository.
  for (const [path, cwd] of [
    [join(root, bin['sovendus-express']!), root],
    ['./node_modules/.bin/sovendus-express', full],
  ] as const) {
    expect(run(path, ['--help'], cwd)).toContain('doctor');
  }
});

it('ships only the built code, its types and the docs', () => {
  const [pack] = JSON.parse(
    run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], root),
  ) as [{ files: { path: string }[] }];
  const paths = pack.files.map((file) => file.path);
  expect(paths).toEqual(
    expect.arrayContaining([
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'dist/cjs/index.js',
      'dist/esm/index.d.ts',
    ]),
  );
  expect(
    paths.filter(
      (path) => !/^(dist\/|package\.json$|README\.md$|LICENSE$|CHANGELOG\.md$)/.test(path),
    ),
  ).toEqual([]);
});
