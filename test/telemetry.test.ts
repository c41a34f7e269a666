import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  context,
  metrics,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Meter,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import express from 'express';
import request from 'supertest';
import { BullMQDeliveryQueue } from '../src/bullmq.js';
import { MemoryTokenStore, type Sovendus, type StoredToken } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { connectTestRedis, testRedisUrl, type TestRedis } from './support/redis.js';
import {
  API_KEY,
  createShop,
  freshTestToken,
  landWithFreshToken,
  type ShopOptions,
} from './support/shop.js';
import { eventually } from './support/wait-for.js';

/*
 * The OpenTelemetry SDK as a shop registers it, with its in-memory exporters: the package
 * records through @opentelemetry/api, which is installed here (a dev dependency), and the SDK
 * receives it. Each test registers fresh providers before it creates its instance: the API
 * hands out a meter from the provider registered at that moment.
 */

const SCOPE = 'sovendus-express';
let redis: TestRedis;
let api: FakeSovendusApi;
let spans: InMemorySpanExporter;
let metricExporter: InMemoryMetricExporter;
let reader: PeriodicExportingMetricReader;
const opened: Sovendus[] = [];
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(async () => {
  redis = connectTestRedis();
  api = await startFakeSovendusApi({ apiKey: API_KEY });
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(async () => {
  await Promise.all(opened.map((instance) => instance.close()));
  await api.close();
  await redis.close();
  context.disable();
});
beforeEach(() => {
  api.reset();
  spans = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
  );
  metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exported when a test asks (forceFlush), not by the clock.
  reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
});
afterEach(async () => {
  await reader.shutdown();
  trace.disable();
  metrics.disable();
});

/**
 * A shop whose every request runs under a server span of its own, as the shop's HTTP
 * instrumentation makes one: the span is the active context, also in the request's and
 * response's event listeners (where a body parser goes on).
 */
function tracedShop(options: ShopOptions) {
  const { app, sovendus } = createShop({ apiBaseUrl: api.url, store: redis.store, ...options });
  opened.push(sovendus);
  const tracer = trace.getTracer('the shop');
  const shop = express();
  shop.use((req, res, next) => {
    tracer.startActiveSpan(`${req.method} ${req.path}`, { kind: SpanKind.SERVER }, (span) => {
      const active = context.active();
      context.bind(active, req);
      context.bind(active, res);
      res.on('finish', () => {
        span.end();
      });
      next();
    });
  });
  shop.use(app);
  return { shop, sovendus };
}

/** What the package's meter exported last: its metrics, by name. */
async function exportedMetrics(): Promise<Map<string, MetricData>> {
  await reader.forceFlush();
  const last = metricExporter.getMetrics().at(-1);
  const ours = last?.scopeMetrics.filter((scope) => scope.scope.name === SCOPE) ?? [];
  return new Map(
    ours.flatMap((scope) => scope.metrics).map((data) => [data.descriptor.name, data]),
  );
}

type Attributes = Record<string, unknown>;

/** The points of a metric whose attributes are exactly `attributes`. */
function pointsOf(exported: Map<string, MetricData>, name: string, attributes: Attributes) {
  return (exported.get(name)?.dataPoints ?? []).filter(
    (point) => JSON.stringify(sorted(point.attributes)) === JSON.stringify(sorted(attributes)),
  );
}

const sorted = (attributes: Attributes) =>
  Object.fromEntries(Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)));

/** A counter's value for exactly `attributes` (0 when it has no such point). */
function count(exported: Map<string, MetricData>, name: string, attributes: Attributes): number {
  const [point] = pointsOf(exported, name, attributes);
  return point === undefined ? 0 : (point.value as number);
}

/** A histogram's count for exactly `attributes`. */
function recorded(exported: Map<string, MetricData>, name: string, attributes: Attributes) {
  const [point] = pointsOf(exported, name, attributes);
  return point === undefined ? 0 : (point.value as { count: number }).count;
}

const ourSpans = () =>
  spans.getFinishedSpans().filter((span) => span.instrumentationScope.name === SCOPE);

/** Everything exported: names, descriptions, attributes and statuses of spans and metrics. */
async function everythingExported(): Promise<string> {
  const exported = await exportedMetrics();
  return JSON.stringify({
    spans: spans.getFinishedSpans().map((span: ReadableSpan) => ({
      name: span.name,
      attributes: span.attributes,
      status: span.status,
      events: span.events,
    })),
    metrics: [...exported.values()].map((data) => ({
      descriptor: data.descriptor,
      attributes: data.dataPoints.map((point) => point.attributes),
    })),
  });
}

/** No key, no token beyond its first 8 characters, no e-mail hash, anywhere. */
async function expectNoSecrets(secrets: { tokens: string[]; emailHashes?: string[] }) {
  const text = await everythingExported();
  expect(text).not.toContain(API_KEY);
  for (const token of secrets.tokens) expect(text).not.toContain(token.slice(0, 9));
  for (const hash of secrets.emailHashes ?? []) expect(text).not.toContain(hash);
}

const CONVERSION_ROUTE = 'POST /ext/{productId}/{token}/api';

/** The error's code, as the attributes of a failure carry it. */
const withCode = (error: string | undefined) =>
  error === undefined ? {} : { 'error.type': error };

/** The attributes of an answer time: by API, status and, for a failure, its code. */
const answer = (api: 'conversion' | 'coupon', status: number, error?: string) => ({
  'sovendus.api': api,
  'http.request.method': 'POST',
  'http.response.status_code': status,
  ...withCode(error),
});

describe('OpenTelemetry', () => {
  it('records a checkout that was retried once: counters, answer times, a span per attempt under the shop span', async () => {
    const { shop } = tracedShop({ retry: { attempts: 3, minDelayMs: 1, maxDelayMs: 1 } });
    const { visitor, token } = await landWithFreshToken(shop);
    api.failNext(1, { status: 503 });
    const checkout = await visitor.post('/checkout').send({ orderId: 'otel-1' }).expect(200);
    expect(checkout.body).toMatchObject({ status: 'sent', attempts: 2 });

    const exported = await exportedMetrics();
    expect(count(exported, 'sovendus.captures', { 'sovendus.outcome': 'captured' })).toBe(1);
    expect(count(exported, 'sovendus.conversions', { 'sovendus.outcome': 'sent' })).toBe(1);
    expect(exported.get('sovendus.conversions')?.dataPoints).toHaveLength(1);
    expect(exported.get('sovendus.resends')?.dataPoints ?? []).toEqual([]);
    expect(
      recorded(exported, 'sovendus.api.duration', answer('conversion', 503, 'UNAVAILABLE')),
    ).toBe(1);
    expect(recorded(exported, 'sovendus.api.duration', answer('conversion', 200))).toBe(1);
    expect(exported.get('sovendus.api.duration')?.descriptor.unit).toBe('s');

    // The shop's span ends as its response goes out: by then ours have ended.
    await eventually(() => {
      expect(spans.getFinishedSpans().map((span) => span.name)).toContain('POST /checkout');
    });
    const checkoutSpan = spans.getFinishedSpans().find((span) => span.name === 'POST /checkout')!;
    const attempts = ourSpans();
    expect(attempts.map((span) => span.name)).toEqual([CONVERSION_ROUTE, CONVERSION_ROUTE]);
    const { hostname, port } = new URL(api.url);
    for (const [index, span] of attempts.entries()) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.parentSpanContext?.spanId).toBe(checkoutSpan.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(checkoutSpan.spanContext().traceId);
      expect(span.attributes).toMatchObject({
        'http.request.method': 'POST',
        'server.address': hostname,
        'server.port': Number(port),
        'url.template': '/ext/{productId}/{token}/api',
        'sovendus.api': 'conversion',
        'sovendus.attempt': index + 1,
        'sovendus.token': `${token.slice(0, 8)}…`,
      });
      expect(span.attributes['url.full']).toMatch(/\/ext\/[0-9a-f-]{36}\/REDACTED\/api$/);
    }
    const [first, second] = attempts;
    expect(first?.attributes).toMatchObject({
      'http.response.status_code': 503,
      'error.type': 'UNAVAILABLE',
    });
    expect(first?.status.code).toBe(SpanStatusCode.ERROR);
    expect(first?.attributes['http.request.resend_count']).toBeUndefined();
    expect(second?.attributes).toMatchObject({
      'http.response.status_code': 200,
      'http.request.resend_count': 1,
    });
    expect(second?.attributes['error.type']).toBeUndefined();
    expect(second?.status.code).not.toBe(SpanStatusCode.ERROR);

    await expectNoSecrets({ tokens: [token] });
  });

  it('counts each outcome, rejections, failures by code and resends after an unknown outcome', async () => {
    const { shop, sovendus } = tracedShop({ retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 1 } });
    const { visitor, token } = await landWithFreshToken(shop);
    await visitor.post('/checkout').send({ orderId: 'otel-2' }).expect(200);
    // Its token is used up: the next checkout of the session finds none.
    await visitor.post('/checkout').send({ orderId: 'otel-3' }).expect(200);
    expect(await sovendus.sendConversion({ token, orderId: 'otel-2' })).toMatchObject({
      status: 'duplicate',
    });
    await request(shop).get('/?sovReqToken=undefined').expect(200);
    const resent = freshTestToken();
    api.enqueue('reset');
    expect(await sovendus.sendConversion({ token: resent })).toMatchObject({ status: 'sent' });
    const refused = freshTestToken();
    api.enqueue({ status: 403 });
    expect(await sovendus.sendConversion({ token: refused })).toMatchObject({ status: 'failed' });

    const exported = await exportedMetrics();
    const conversions = (outcome: string, error?: string) =>
      count(exported, 'sovendus.conversions', {
        'sovendus.outcome': outcome,
        ...withCode(error),
      });
    expect(conversions('sent')).toBe(2);
    expect(conversions('no_token')).toBe(1);
    expect(conversions('duplicate')).toBe(1);
    expect(conversions('failed', 'INVALID_API_KEY')).toBe(1);
    expect(count(exported, 'sovendus.captures', { 'sovendus.outcome': 'rejected' })).toBe(1);
    expect(
      count(exported, 'sovendus.resends', {
        'sovendus.kind': 'conversion',
        'sovendus.resend.reason': 'connection-lost',
      }),
    ).toBe(1);
    // The call whose connection broke: no status, the error's code.
    const broken = ourSpans().find(
      (span) => span.attributes['sovendus.token'] === `${resent.slice(0, 8)}…`,
    );
    expect(broken?.attributes).toMatchObject({
      'error.type': 'UNAVAILABLE',
      'sovendus.attempt': 1,
    });
    expect(broken?.attributes['http.response.status_code']).toBeUndefined();
    await expectNoSecrets({ tokens: [token, resent, refused] });
  });

  it('records coupon redemptions without the e-mail hash', async () => {
    const { sovendus } = tracedShop({
      coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
      retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 1 },
    });
    const email = 'Someone@Shop.example';
    const emailHash = createHash('md5').update(email.trim().toLowerCase()).digest('hex');
    api.failNext(1, { status: 500 });
    const orderId = `order-${randomUUID()}`;
    const redemption = { couponCode: 'OTEL-CODE-1', orderId, email };
    expect(await sovendus.redeemCoupon(redemption)).toMatchObject({ status: 'sent' });
    expect(await sovendus.redeemCoupon(redemption)).toMatchObject({ status: 'duplicate' });

    const exported = await exportedMetrics();
    expect(count(exported, 'sovendus.redemptions', { 'sovendus.outcome': 'sent' })).toBe(1);
    expect(count(exported, 'sovendus.redemptions', { 'sovendus.outcome': 'duplicate' })).toBe(1);
    expect(recorded(exported, 'sovendus.api.duration', answer('coupon', 500, 'UNAVAILABLE'))).toBe(
      1,
    );
    expect(recorded(exported, 'sovendus.api.duration', answer('coupon', 200))).toBe(1);
    expect(ourSpans().map((span) => [span.name, span.attributes['sovendus.attempt']])).toEqual([
      ['POST /redeem/{trafficSourceNumber}', 1],
      ['POST /redeem/{trafficSourceNumber}', 2],
    ]);
    await expectNoSecrets({ tokens: [], emailHashes: [emailHash] });
  });

  it('counts store calls that miss their deadline', async () => {
    // A store that never answers a save: the landing goes on after storeTimeoutMs.
    class HangingStore extends MemoryTokenStore {
      override saveToken(_key: string, _entry: StoredToken, _ttl: number): Promise<void> {
        return new Promise(() => undefined);
      }
    }
    const { shop } = tracedShop({ store: new HangingStore(), storeTimeoutMs: 50 });
    await landWithFreshToken(shop);
    await eventually(async () => {
      const exported = await exportedMetrics();
      expect(count(exported, 'sovendus.store.timeouts', {})).toBe(1);
      expect(
        count(exported, 'sovendus.captures', {
          'sovendus.outcome': 'failed',
          'error.type': 'STORE_UNAVAILABLE',
        }),
      ).toBe(1);
    });
  });

  it('counts queued and dead deliveries, and reads the queue backlog', async () => {
    const { hostname, port } = new URL(testRedisUrl());
    const queue = new BullMQDeliveryQueue({
      connection: { host: hostname, port: Number(port) },
      name: `otel-${randomUUID()}`,
      prefix: `${redis.prefix}bull`,
      firstRetryDelayMs: 20,
    });
    const { sovendus } = tracedShop({ queue, retry: { attempts: 1 } });
    const dead = new Promise((resolve) => sovendus.on('dead', resolve));
    // Refused once (queued), then refused for good by the worker: a dead letter.
    api.enqueue({ status: 503 }, { status: 403 });
    const token = freshTestToken();
    expect(await sovendus.sendConversion({ token })).toMatchObject({ status: 'queued' });
    await dead;

    await eventually(async () => {
      const exported = await exportedMetrics();
      const conversions = (outcome: string, error: string) =>
        count(exported, 'sovendus.conversions', {
          'sovendus.outcome': outcome,
          'error.type': error,
        });
      expect(conversions('queued', 'UNAVAILABLE')).toBe(1);
      expect(conversions('dead', 'INVALID_API_KEY')).toBe(1);
      expect(count(exported, 'sovendus.queue.deliveries', { 'sovendus.queue.state': 'dead' })).toBe(
        1,
      );
      // The follow-up the request left before its call, which looks once the lease has ended.
      expect(
        count(exported, 'sovendus.queue.deliveries', { 'sovendus.queue.state': 'pending' }),
      ).toBe(1);
    });
    await expectNoSecrets({ tokens: [token] });
  });

  it("gives Prometheus the series of the docs' three queries", async () => {
    // docs/telemetry.md's recipe, served by a test server instead of its own port.
    const prometheus = new PrometheusExporter({ preventServerStart: true });
    metrics.disable();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [prometheus] }));
    const { hostname, port } = new URL(testRedisUrl());
    const queue = new BullMQDeliveryQueue({
      connection: { host: hostname, port: Number(port) },
      name: `otel-${randomUUID()}`,
      prefix: `${redis.prefix}bull`,
    });
    const { shop, sovendus } = tracedShop({ queue, retry: { attempts: 1 } });
    const { visitor } = await landWithFreshToken(shop);
    await visitor.post('/checkout').send({ orderId: 'otel-prometheus' }).expect(200);
    api.enqueue({ status: 422 });
    await sovendus.sendConversion({ token: freshTestToken() });

    const scraped = await request((req: IncomingMessage, res: ServerResponse) => {
      prometheus.getMetricsRequestHandler(req, res);
    }).get('/metrics');
    const series = scraped.text.split('\n').filter((line) => line.startsWith('sovendus_'));
    const scope = 'otel_scope_name="sovendus-express"';
    expect(series).toEqual(
      expect.arrayContaining([
        `sovendus_captures_total{sovendus_outcome="captured",${scope}} 1`,
        `sovendus_conversions_total{sovendus_outcome="sent",${scope}} 1`,
        `sovendus_conversions_total{sovendus_outcome="failed",error_type="INVALID_PARAMETERS",${scope}} 1`,
        // The follow-ups both calls left before they were made, each for a lease.
        `sovendus_queue_deliveries{sovendus_queue_state="pending",${scope}} 2`,
        `sovendus_queue_deliveries{sovendus_queue_state="dead",${scope}} 0`,
        expect.stringMatching(/^sovendus_api_duration_bucket\{sovendus_api="conversion",/),
      ]),
    );
    await prometheus.shutdown();
  });

  describe('with an SDK that throws where the API promises it will not', () => {
    const broken = () => {
      throw new Error('a broken SDK');
    };
    afterEach(() => {
      context.disable();
      context.setGlobalContextManager(contextManager);
    });

    /** A shop without a span of its own (its instrumentation would meet the same SDK). */
    async function checkout(options: ShopOptions) {
      const { app, sovendus } = createShop({
        apiBaseUrl: api.url,
        store: redis.store,
        retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 1 },
        ...options,
      });
      opened.push(sovendus);
      const { visitor } = await landWithFreshToken(app);
      api.failNext(1, { status: 503 });
      const answer = await visitor.post('/checkout').send({ orderId: `otel-${randomUUID()}` });
      return answer.body as unknown;
    }

    it('sends: instruments and the context manager throw', async () => {
      const instrument = { add: broken, record: broken, addCallback: broken };
      metrics.disable();
      metrics.setGlobalMeterProvider({
        getMeter: () =>
          ({
            createCounter: () => instrument,
            createHistogram: () => instrument,
            createObservableGauge: () => instrument,
          }) as unknown as Meter,
      });
      context.disable();
      context.setGlobalContextManager({
        active: () => ROOT_CONTEXT,
        with: broken,
        bind: (_context, target) => target,
        enable() {
          return this;
        },
        disable() {
          return this;
        },
      });
      expect(await checkout({})).toMatchObject({ status: 'sent', attempts: 2 });
    });

    it('sends: getMeter and startSpan throw', async () => {
      metrics.disable();
      metrics.setGlobalMeterProvider({ getMeter: broken });
      trace.disable();
      trace.setGlobalTracerProvider({
        getTracer: () => ({ startSpan: broken, startActiveSpan: broken }),
      });
      const errors: string[] = [];
      const logger = { error: (_fields: unknown, message: string) => errors.push(message) };
      expect(await checkout({ logger })).toMatchObject({ status: 'sent', attempts: 2 });
      expect(errors).toEqual(['sovendus: OpenTelemetry could not be set up; nothing is recorded']);
    });
  });

  it('records nothing with telemetry: false', async () => {
    const { shop, sovendus } = tracedShop({
      telemetry: false,
      coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
      retry: { attempts: 2, minDelayMs: 1, maxDelayMs: 1 },
    });
    const { visitor } = await landWithFreshToken(shop);
    api.failNext(1, { status: 503 });
    await visitor.post('/checkout').send({ orderId: 'otel-off' }).expect(200);
    await sovendus.redeemCoupon({ couponCode: 'OFF', orderId: `order-${randomUUID()}` });
    await request(shop).get('/?sovReqToken=undefined').expect(200);
    await eventually(() => {
      expect(spans.getFinishedSpans().map((span) => span.name)).toContain('POST /checkout');
    });

    expect(await exportedMetrics()).toEqual(new Map());
    expect(ourSpans()).toEqual([]);
  });
});
