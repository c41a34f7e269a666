// Preloaded into every shop process with BENCH_OTEL=sdk (node --import): the OpenTelemetry SDK
// as a shop registers it (a context manager, a tracer provider with a batch processor, a meter
// provider with a periodic reader), registered before the shop creates its instance. Its
// exporters drop what they are given: the rows measure recording, not shipping.
import { context, metrics, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

const SUCCESS = { code: 0 }; // ExportResultCode.SUCCESS, from @opentelemetry/core
const dropping = {
  export: (_items, done) => {
    done(SUCCESS);
  },
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
};

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
// A context entered once, as a shop's HTTP instrumentation does on its first request: in Node 20
// that turns AsyncLocalStorage's async hook on, which then runs for every promise of the process.
// The SDK's span processor enters one when it first exports, so without this line only a shop
// that records spans would pay the hook, and the checkout row would charge it to the package
// (0.83 instead of the SDK's own cost).
context.with(ROOT_CONTEXT, () => undefined);
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping)] }),
);
metrics.setGlobalMeterProvider(
  new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({ exporter: dropping, exportIntervalMillis: 10_000 }),
    ],
  }),
);
