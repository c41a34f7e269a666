import type { Attributes, Meter, Span, Tracer } from '@opentelemetry/api';
import type { AttemptWatch, ShownCall, WatchedAttempt } from '../http/api-sender.js';
import type { OpenTelemetryApi } from './open-telemetry-api.cjs';

/**
 * OpenTelemetry's advice for `http.client.request.duration`, in seconds, with 30 s added: the
 * default `sendLimitMs`, the longest an attempt may last.
 */
const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30,
];

const NOT_WATCHED: WatchedAttempt = {
  within: (request) => request(),
  end: () => undefined,
};

/** `server.port` as the semantic conventions want it: the URL's port, or its scheme's. */
function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'http:' ? 80 : 443;
}

/**
 * A span per attempt, by OpenTelemetry's conventions for HTTP client spans, as a child of
 * whatever span is active when the attempt begins (the shop's request span, in a checkout),
 * and its answer time in the `sovendus.api.duration` histogram. What a span shows of the call
 * is its `shown()`: the URL with the token cut out, the token's first 8 characters; never the
 * body, which holds the API key or the e-mail hash.
 */
export function watchApiCalls(api: OpenTelemetryApi, tracer: Tracer, meter: Meter): AttemptWatch {
  const duration = meter.createHistogram('sovendus.api.duration', {
    description: 'How long Sovendus took to answer one attempt, by API and HTTP status.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });

  /** Ends an attempt's span and records its answer time, by API, status and error code. */
  function finish(
    span: Span,
    startedAt: number,
    which: ShownCall['api'],
    status: number | undefined,
    code: string | undefined,
  ) {
    const attributes: Attributes = { 'sovendus.api': which, 'http.request.method': 'POST' };
    if (status !== undefined) {
      attributes['http.response.status_code'] = status;
      span.setAttribute('http.response.status_code', status);
    }
    if (code !== undefined) {
      attributes['error.type'] = code;
      span.setAttribute('error.type', code);
      span.setStatus({ code: api.SpanStatusCode.ERROR });
    }
    duration.record((performance.now() - startedAt) / 1000, attributes);
    span.end();
  }

  return {
    begin(call, attempt) {
      // The OpenTelemetry API promises not to throw; a sender that hears nothing must still
      // send, whatever an SDK registered under it does.
      try {
        const shown = call.shown();
        const url = new URL(shown.url);
        const attributes: Attributes = {
          'http.request.method': 'POST',
          'server.address': url.hostname,
          'server.port': portOf(url),
          'url.full': shown.url,
          'url.template': shown.template,
          'sovendus.api': shown.api,
          'sovendus.attempt': attempt,
        };
        if (attempt > 1) attributes['http.request.resend_count'] = attempt - 1;
        if (shown.token !== undefined) attributes['sovendus.token'] = shown.token;
        const span = tracer.startSpan(`POST ${shown.template}`, {
          kind: api.SpanKind.CLIENT,
          attributes,
        });
        const active = api.trace.setSpan(api.context.active(), span);
        const startedAt = performance.now();
        return {
          within: (request) => {
            const attempted = { made: false };
            try {
              return api.context.with(active, () => {
                attempted.made = true;
                return request();
              });
            } catch (error) {
              // The request's own throw is the sender's to read; a context manager's is not.
              if (attempted.made) throw error;
              return request();
            }
          },
          end(status, error) {
            try {
              finish(span, startedAt, shown.api, status, error?.code);
            } catch {
              // Nothing to tell: the attempt's outcome is the sender's, not ours.
            }
          },
        };
      } catch {
        return NOT_WATCHED;
      }
    },
  };
}
