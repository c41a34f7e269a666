import type { IncomingMessage } from 'node:http';
import { SovendusValidationError, type SovendusError } from '../errors.js';
import type { DeliveryService } from '../delivery/delivery-service.js';
import type { SovendusEventHub } from '../events.js';
import type { Log } from '../logging.js';
import type { CompleteOptions, ConversionResult, SovendusRequestContext } from '../types.js';
import type { BoundedStore } from '../stores/bounded-store.js';
import type { FailCheckout } from './checkout-failure.js';
import type { SessionAccess } from './session.js';

/** What `req.sovendus` is made from: one set per Sovendus instance. */
export interface RequestContextDeps {
  sessions: SessionAccess;
  store: BoundedStore;
  service: DeliveryService;
  events: SovendusEventHub;
  log: Log;
  failCheckout: FailCheckout;
}

const NOT_OPTIONS = 'complete() takes an options object, { orderId }, or nothing';

/** `req.sovendus`: a thin per-request handle; it does nothing until one of its methods is called. */
class RequestContext implements SovendusRequestContext {
  constructor(
    private readonly req: IncomingMessage,
    private readonly deps: RequestContextDeps,
  ) {}

  async getToken(): Promise<string | undefined> {
    let sessionKey: string | undefined;
    try {
      sessionKey = this.deps.sessions.keyOf(this.req);
    } catch (error) {
      // No session (or a getSessionKey that threw): no token, as the type promises.
      const problem = this.deps.sessions.setupFailed(error);
      this.deps.events.emit('failed', { stage: 'conversion', error: problem });
      return undefined;
    }
    if (sessionKey === undefined) return undefined;
    try {
      return (await this.deps.store.getToken(sessionKey))?.token;
    } catch (error) {
      this.deps.log.warn({ err: error }, 'could not read the token');
      this.deps.events.emit('failed', { stage: 'conversion', error: error as SovendusError });
      return undefined;
    }
  }

  complete(options: CompleteOptions = {}): Promise<ConversionResult> {
    const { sessions } = this.deps;
    // Typed for TypeScript callers; checked for JavaScript ones. `complete(order.id)` would
    // otherwise send without the order id, and `complete(null)` would reject.
    const given: unknown = options;
    if (typeof given !== 'object' || given === null) {
      const error = new SovendusValidationError([NOT_OPTIONS]);
      return Promise.resolve(this.deps.failCheckout(error));
    }
    return this.deps.service.completeSession(
      { keyOf: () => sessions.keyOf(this.req), captured: () => sessions.captured(this.req) },
      options,
    );
  }
}

type WithContext = IncomingMessage & { sovendus?: SovendusRequestContext };

/** Sets `req.sovendus` unless a capture already did, and returns it. */
export function attachRequestContext(
  req: IncomingMessage,
  deps: RequestContextDeps,
): SovendusRequestContext {
  const target = req as WithContext;
  return (target.sovendus ??= new RequestContext(req, deps));
}
