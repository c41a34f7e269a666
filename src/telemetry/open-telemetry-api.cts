import type * as Api from '@opentelemetry/api';

/*
 * CommonJS in both builds (a .cts file compiles to .cjs), so that the ESM build can load an
 * optional package synchronously too, resolved from where this package is installed, as its
 * peer dependency is: ESM has no `require`, and `import()` would answer a tick too late for
 * `createSovendus()`, which returns at once.
 */

/** The OpenTelemetry API, as far as this package uses it. */
export type OpenTelemetryApi = typeof Api;

let loaded: OpenTelemetryApi | null | undefined;

/** Whether what `require` gave looks like the API: a broken or foreign module is no API. */
function isApi(value: unknown): value is OpenTelemetryApi {
  const api = value as Partial<Record<'metrics' | 'trace' | 'context', unknown>> | undefined;
  return (
    typeof (api?.metrics as { getMeter?: unknown } | undefined)?.getMeter === 'function' &&
    typeof (api?.trace as { getTracer?: unknown } | undefined)?.getTracer === 'function' &&
    typeof (api?.context as { with?: unknown } | undefined)?.with === 'function'
  );
}

/**
 * `@opentelemetry/api` when the shop installed it, else `undefined`. Loaded on the first call
 * only, whatever it came to: a process without it tries once.
 */
export function openTelemetryApi(): OpenTelemetryApi | undefined {
  if (loaded === undefined) {
    try {
      // An optional peer dependency: its absence is the usual case, not an error.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const required: unknown = require('@opentelemetry/api');
      loaded = isApi(required) ? required : null;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}
