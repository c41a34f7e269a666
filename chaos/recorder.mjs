// Collects what the shop instances report over IPC: the package's events, its warn/error log
// lines, the shops' 500s by source, and unhandled rejections. Counted across all instances
// (and across the processes of a restarted slot).

const SAMPLES = 20;

const increment = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);

export function createRecorder() {
  const counts = { captured: 0, rejected: 0, sent: 0, queued: 0, failed: 0, dead: 0, resend: 0 };
  const captured = new Set();
  const sentPerToken = new Map();
  const resendsPerToken = new Map(); // token -> reasons
  const perToken = new Map(); // token -> what the package said about it, in order
  const resendReasons = new Map();
  const failedCodes = new Map(); // "stage CODE" -> count
  const deadCodes = new Map();
  const logs = new Map(); // "level: message" -> count
  const httpErrors = new Map(); // "source" or "source, after the response" -> count
  const unhandled = [];
  let unhandledCount = 0;
  const loopDelays = {}; // shop -> { p99, max } of its event loop's delay, in ms
  const apiCallErrors = new Map(); // "aborted after 300-399 ms" -> count

  function onEvent(event, payload) {
    counts[event] = (counts[event] ?? 0) + 1;
    const token = payload?.token;
    if (token !== undefined && event !== 'captured') {
      const said = payload.error ? `${event}: ${payload.error.message}` : event;
      perToken.set(token, [...(perToken.get(token) ?? []), said]);
    }
    if (event === 'captured') captured.add(token);
    if (event === 'sent') increment(sentPerToken, token);
    if (event === 'failed') increment(failedCodes, `${payload.stage} ${payload.error?.code}`);
    if (event === 'dead') increment(deadCodes, payload.error?.code);
    if (event === 'resend') {
      const reason = String(payload?.reason);
      increment(resendReasons, reason);
      if (token !== undefined)
        resendsPerToken.set(token, [...(resendsPerToken.get(token) ?? []), reason]);
    }
  }

  return {
    onMessage(_shop, message) {
      switch (message?.type) {
        case 'event':
          onEvent(message.event, message.payload);
          break;
        case 'log':
          increment(logs, `${message.level}: ${message.message}`);
          break;
        case 'http-error':
          increment(
            httpErrors,
            message.late ? `${message.source}, after the response` : message.source,
          );
          break;
        case 'unhandled-rejection':
          unhandledCount += 1;
          if (unhandled.length < SAMPLES) unhandled.push(`${message.shop}: ${message.message}`);
          break;
        case 'api-call-error': {
          const from = Math.floor(message.ms / 100) * 100;
          increment(apiCallErrors, `${message.why} after ${from}-${from + 99} ms`);
          break;
        }
        case 'loop-delay':
          loopDelays[message.shop] = { p99: message.p99, max: message.max };
          break;
        default:
      }
    },
    counts,
    captured,
    sentPerToken,
    resendsPerToken,
    perToken,
    resendReasons,
    failedCodes,
    deadCodes,
    logs,
    httpErrors,
    loopDelays,
    apiCallErrors,
    unhandled: () => ({ count: unhandledCount, samples: unhandled }),
  };
}
