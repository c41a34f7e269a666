// BENCH_OTEL: the OpenTelemetry the shops run with, the same on both sides of a comparison.
//   unset or `api`: @opentelemetry/api installed (a dev dependency) and no SDK: the no-op cost;
//   `sdk`: an SDK registered first in every shop process (otel-sdk.mjs, preloaded);
//   `off`: the option `telemetry: false`: nothing of OpenTelemetry loaded, as before it existed.
// Each row's reference shop gets the same preload, so a row shows what the package adds to a
// shop in that state; ours' CPU µs per request across two modes shows what recording costs.
export const OTEL_MODE = process.env.BENCH_OTEL || 'api';
if (!['api', 'sdk', 'off'].includes(OTEL_MODE)) {
  throw new Error(`BENCH_OTEL must be api, sdk or off, not ${OTEL_MODE}`);
}

/** Node's arguments for a shop process: the SDK's preload, in `sdk` mode. */
export const otelNodeArgs =
  OTEL_MODE === 'sdk' ? ['--import', new URL('./otel-sdk.mjs', import.meta.url).href] : [];

/** The shops' `telemetry` option. */
export const telemetry = OTEL_MODE !== 'off';
