// Preloaded into every shop process with BENCH_OTEL=sdk (node --import): the OpenTelemetry SDK
// as a shop registers it (a context manager, a tracer provider with a batch processor, a meter
// provider with a periodic reader), registered before the shop creates its instance. Its
// exporters drop what they are given: the rows measure recording, not shipping.
import { context, metrics, trace } from '@opentelemetry/api';
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
