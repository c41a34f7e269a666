import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer of the fake API. */
export type FakeReply =
  | {
      status: number;
      body?: unknown;
      headers?: Record<string, string>;
      delayMs?: number;
      /** Answers only once this settles: a test decides when a slow Sovendus answers. */
      until?: Promise<unknown>;
    }
  /** Accept the request and never answer (until `close()`): a timeout. */
  | 'hang'
  /** Drop the connection without an answer: a network failure. */
  | 'reset'
  /**
   * Take the call as Sovendus would (a valid conversion counts as accepted), then drop the
   * connection before answering: the outcome the sender cannot know.
   */
  | 'drop'
  /** Answer as Sovendus would, but stop in the middle of the body and never finish it. */
  | 'stall';

/** A request the fake API received. */
export interface FakeSovendusCall {
  /** Which API the path belongs to; `unknown` for a path that is neither. */
  api: 'conversion' | 'coupon' | 'unknown';
  /** The HTTP method. */
  method: string;
  /** The request's path, as sent. */
  path: string;
  /** Decoded from `/ext/{productId}/{token}/api`; `undefined` when the path did not match. */
  productId: string | undefined;
  /** Decoded from `/ext/{productId}/{token}/api`; `undefined` when the path did not match. */
  token: string | undefined;
  /** The `apiKey` of the JSON body, as received. */
  apiKey: string | undefined;
  /** Coupon API: the traffic source number of `/redeem/{trafficSourceNumber}`. */
  trafficSourceNumber?: string | undefined;
  /** Coupon API: the JSON body, as received (`coupon_code`, `order_id`, `email_hash`...). */
  redemption?: Record<string, unknown> | undefined;
  /** The HTTP status it answered, or the scripted failure. */
  reply: number | 'hang' | 'reset' | 'drop' | 'stall';
  /** Whether Sovendus would have counted it: a 200, or a valid call dropped or stalled after it was taken. */
  accepted: boolean;
}

/** Options of {@link startFakeSovendusApi}. */
export interface FakeSovendusApiOptions {
  /** The one API key it accepts; others get 403. Default: any non-empty key. */
  apiKey?: string;
  /** The product ids it knows; others get 422. Default: any. */
  productIds?: readonly string[];
  /** Coupon API: the traffic source numbers it knows; others get 500, as Sovendus answers. Default: any. */
  trafficSourceNumbers?: readonly string[];
  /** Coupon API: the traffic medium ids it knows; others get 500. Default: any. */
  trafficMediumPublicIds?: readonly string[];
  /** Port on 127.0.0.1. Default: a free one. */
  port?: number;
}

/** A running fake of the Sovendus APIs, from {@link startFakeSovendusApi}. */
export interface FakeSovendusApi {
  /** Pass it as `apiBaseUrl`. */
  readonly url: string;
  /** Every request received, in order. */
  readonly calls: readonly FakeSovendusCall[];
  /** Calls that Sovendus would have counted as conversions (`accepted`, whether or not the answer arrived). */
  readonly conversions: readonly FakeSovendusCall[];
  /** Coupon redemptions that Sovendus would have received (`accepted`). */
  readonly redemptions: readonly FakeSovendusCall[];
  /** Scripts the next answers, in order; once used up, it answers as Sovendus would. */
  enqueue(...replies: FakeReply[]): void;
  /**
   * Answers a share of all calls (`rate`, 0 to 1) with one of `replies`, picked by a seeded
   * random sequence so that a run can be repeated; `undefined` stops it. Scripted answers
   * (`enqueue`) come first.
   */
  injectFaults(
    faults: { rate: number; replies: readonly FakeReply[]; seed?: number } | undefined,
  ): void;
  /** How many answers were faults injected by `injectFaults`. */
  readonly faultsInjected: number;
  /** Scripts the next `count` answers to be `reply`: "fail N times, then recover". */
  failNext(count: number, reply: FakeReply): void;
  /** Stops listening: calls are refused, as when Sovendus is down entirely. */
  goDown(): Promise<void>;
  /** Listens again, on the same port. */
  comeBack(): Promise<void>;
  /** Forgets calls and scripted answers. */
  reset(): void;
  /** Stops it; calls left hanging are dropped. */
  close(): Promise<void>;
}

const ROUTE = /^\/ext\/([^/]+)\/([^/]+)\/api$/;
const COUPON_ROUTE = /^\/redeem\/([^/]*)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Sovendus' documented test tokens: "test" as the second of four groups.
const TEST_TOKEN_SHAPE = /^[0-9a-z]{5}-test-[0-9a-z]{3}-[0-9a-z]{5}$/i;

function decode(segment: string | undefined): string | undefined {
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      resolve(body);
    });
    req.on('error', reject);
  });
}

function jsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // Not JSON.
  }
  return undefined;
}

const isText = (value: unknown, pattern: RegExp) =>
  typeof value === 'string' && pattern.test(value);

/**
 * A local HTTP server that plays both Sovendus APIs, as their documentation describes them.
 * Conversions: 200 with `{externalProductId, sovReqToken}`, 403 for a wrong key, 404/405 for a
 * wrong route or method, 422 for an unknown product id or a malformed test token. Coupon
 * redemptions: 200, 404 for a malformed traffic source number, 422 for a missing code or a
 * malformed field, 500 for an unknown traffic source or medium. Script failures (5xx, 429 with
 * Retry-After, hangs, resets, answers dropped or stalled after the call was taken) with
 * `enqueue`. For tests only.
 */
export async function startFakeSovendusApi(
  options: FakeSovendusApiOptions = {},
): Promise<FakeSovendusApi> {
  const calls: FakeSovendusCall[] = [];
  let script: FakeReply[] = [];
  let faults: { rate: number; replies: readonly FakeReply[]; random: () => number } | undefined;
  let faultsInjected = 0;

  // mulberry32: a tiny seeded generator, so a fault pattern can be replayed.
  const seeded = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  function injectedFault(): FakeReply | undefined {
    if (faults === undefined || faults.random() >= faults.rate) return undefined;
    faultsInjected += 1;
    return faults.replies[Math.floor(faults.random() * faults.replies.length)];
  }

  function couponAnswer(call: FakeSovendusCall): { status: number; body: unknown } {
    const source = call.trafficSourceNumber ?? '';
    if (!/^[0-9]+$/.test(source)) return { status: 404, body: undefined };
    const body = call.redemption ?? {};
    const medium = body.traffic_medium_public_id;
    const valid =
      isText(body.coupon_code, /\S/) &&
      (body.email_hash === undefined || isText(body.email_hash, /^[0-9a-f]{32}$/)) &&
      (body.order_value === undefined || isText(body.order_value, /^\d+(\.\d{1,2})?$/)) &&
      (body.order_currency === undefined || isText(body.order_currency, /^[A-Z]{3}$/)) &&
      (medium === undefined || isText(medium, UUID));
    if (!valid) return { status: 422, body: { error: 'Input validation failed.' } };
    const knownSource = options.trafficSourceNumbers?.includes(source) ?? true;
    const knownMedium =
      medium === undefined || (options.trafficMediumPublicIds?.includes(medium as string) ?? true);
    if (!knownSource || !knownMedium) return { status: 500, body: { error: 'Internal error' } };
    return { status: 200, body: { message: 'Coupon redemption received.' } };
  }

  function sovendusAnswer(call: FakeSovendusCall): { status: number; body: unknown } {
    if (call.api === 'coupon' && call.method === 'POST') return couponAnswer(call);
    if (call.productId === undefined || call.token === undefined) {
      return { status: 404, body: { message: 'Invalid API call.' } };
    }
    if (call.method !== 'POST') return { status: 405, body: { message: 'Invalid API call.' } };
    const keyAccepted =
      options.apiKey === undefined ? Boolean(call.apiKey) : call.apiKey === options.apiKey;
    if (!keyAccepted) {
      return {
        status: 403,
        body: { message: 'This API call is unauthorized. Please check your API key.' },
      };
    }
    if (options.productIds !== undefined && !options.productIds.includes(call.productId)) {
      return { status: 422, body: 'External product id not found.' };
    }
    if (/-test-/i.test(call.token) && !TEST_TOKEN_SHAPE.test(call.token)) {
      return { status: 422, body: 'Invalid API parameters.' };
    }
    return { status: 200, body: { externalProductId: call.productId, sovReqToken: call.token } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = ROUTE.exec(path);
    const coupon = COUPON_ROUTE.exec(path);
    const json = jsonObject(body);
    const call: FakeSovendusCall = {
      api: match ? 'conversion' : coupon ? 'coupon' : 'unknown',
      method: req.method ?? 'GET',
      path,
      productId: decode(match?.[1]),
      token: decode(match?.[2]),
      apiKey: typeof json?.apiKey === 'string' ? json.apiKey : undefined,
      trafficSourceNumber: decode(coupon?.[1]),
      redemption: coupon ? json : undefined,
      reply: 200,
      accepted: false,
    };
    calls.push(call);

    const scripted = script.shift() ?? injectedFault();
    if (scripted === 'hang' || scripted === 'reset') {
      call.reply = scripted;
      if (scripted === 'reset') req.socket.destroy();
      return;
    }
    if (scripted === 'drop' || scripted === 'stall') {
      const answer = sovendusAnswer(call);
      call.reply = scripted;
      call.accepted = answer.status === 200;
      if (scripted === 'drop') {
        req.socket.destroy();
        return;
      }
      // The status line and half the body: a reader that waits for the end waits forever.
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.write(JSON.stringify(answer.body).slice(0, 8));
      return;
    }
    const answer = scripted ?? sovendusAnswer(call);
    call.reply = answer.status;
    call.accepted = answer.status === 200;
    if (scripted?.delayMs) await new Promise((resolve) => setTimeout(resolve, scripted.delayMs));
    if (scripted?.until) await scripted.until.catch(() => undefined);
    res.writeHead(answer.status, {
      'content-type': 'application/json',
      ...(scripted?.headers ?? {}),
    });
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  const stop = () =>
    new Promise<void>((resolve, reject) => {
      server.close((error) => {
        if (error) reject(error);
        else resolve();
      });
      server.closeAllConnections();
    });
  await listen(options.port ?? 0);
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    get conversions() {
      return calls.filter((call) => call.api === 'conversion' && call.accepted);
    },
    get redemptions() {
      return calls.filter((call) => call.api === 'coupon' && call.accepted);
    },
    enqueue: (...replies) => {
      script.push(...replies);
    },
    injectFaults: (options) => {
      faults = options && {
        rate: options.rate,
        replies: options.replies,
        random: seeded(options.seed ?? 1),
      };
    },
    get faultsInjected() {
      return faultsInjected;
    },
    failNext: (count, reply) => {
      script.push(...Array.from({ length: count }, () => reply));
    },
    goDown: stop,
    comeBack: () => listen(port),
    reset: () => {
      calls.length = 0;
      script = [];
      faults = undefined;
      faultsInjected = 0;
    },
    close: () => (server.listening ? stop() : Promise.resolve()),
  };
}
