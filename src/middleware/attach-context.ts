import { IncomingMessage, type ServerResponse } from 'node:http';
import type { SovendusRequestContext } from '../types.js';
import { RequestContext, type RequestContextDeps } from './request-context.js';

type WithContext = IncomingMessage & { sovendus?: SovendusRequestContext };

/*
 * Where `req.sovendus` lives. Express gives each request its app's prototype
 * (`Object.setPrototypeOf(req, app.request)`), and V8 shares no hidden classes between objects
 * whose prototype was set that way: a property added to such a request copies its whole hidden
 * class (some 40 properties), on every request. Under callgrind, the `sovendus` property alone
 * cost a page 2-5 % of its instructions. So on a request that inherits from a framework's
 * request prototype (Express' `express.request`, shared by its apps and sub-apps), `sovendus` is
 * a getter put on that prototype once, and the request carries nothing of ours. A plain Node
 * request (Connect), whose hidden classes are shared, gets its own property as before.
 *
 * The getter answers for the first instance that attached on the prototype, which is the one
 * instance of nearly every shop. Once a second instance attaches there, every capture and
 * convert on it sets the request's own property again, so that the first of them to run on a
 * request is the one it gets (only a request in flight at that moment may get the second).
 */
interface SharedPrototype {
  /** The instance the getter answers for. */
  first: RequestContextDeps;
  /** A second instance attached here: requests get their own property. */
  shared: boolean;
}

const prototypes = new WeakMap<object, SharedPrototype>();

/** The framework's request prototype above Node's, or `undefined` for a plain Node request. */
function frameworkPrototype(req: IncomingMessage): object | undefined {
  let prototype: unknown = Object.getPrototypeOf(req);
  if (prototype === IncomingMessage.prototype) return undefined;
  while (typeof prototype === 'object' && prototype !== null) {
    const parent: unknown = Object.getPrototypeOf(prototype);
    if (parent === IncomingMessage.prototype) return prototype;
    prototype = parent;
  }
  return undefined; // not a Node request at all (a test's stand-in): an own property it is
}

function installGetter(prototype: object, deps: RequestContextDeps): SharedPrototype {
  const entry: SharedPrototype = { first: deps, shared: false };
  prototypes.set(prototype, entry);
  Object.defineProperty(prototype, 'sovendus', {
    configurable: true,
    get(this: IncomingMessage) {
      return new RequestContext(this, entry.first);
    },
    // A shop (or a test) that sets `req.sovendus` itself gets what it set, as before.
    set(this: IncomingMessage, value: unknown) {
      Object.defineProperty(this, 'sovendus', {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    },
  });
  return entry;
}

// The prototype last looked up, and what it holds: one comparison on nearly every request.
let lastPrototype: object | undefined;
let lastEntry: SharedPrototype | undefined;

/**
 * Makes `req.sovendus` answer for `deps`, unless a capture or convert already did. `res` is
 * kept only by a context the request holds itself: an Express request has `req.res`.
 */
export function attachRequestContext(
  req: IncomingMessage,
  res: ServerResponse,
  deps: RequestContextDeps,
): void {
  const immediate: unknown = Object.getPrototypeOf(req);
  let entry = immediate === lastPrototype ? lastEntry : undefined;
  if (entry === undefined) {
    const prototype = frameworkPrototype(req);
    if (prototype !== undefined) {
      entry = prototypes.get(prototype) ?? installGetter(prototype, deps);
      lastPrototype = immediate as object;
      lastEntry = entry;
    }
  }
  const target = req as WithContext;
  if (entry === undefined) {
    target.sovendus ??= new RequestContext(req, deps, res);
    return;
  }
  if (entry.first === deps && !entry.shared) return;
  entry.shared = true;
  // Through the prototype's setter: an own property, which the getter no longer answers for.
  if (!Object.hasOwn(req, 'sovendus')) target.sovendus = new RequestContext(req, deps, res);
}

/**
 * `attachRequestContext`, then `req.sovendus` itself: for the convert middleware, which uses it.
 * The capture only attaches: on a request that inherits the getter, reading `req.sovendus` would
 * make a context object that nobody uses, on every request.
 */
export function attachAndGetRequestContext(
  req: IncomingMessage,
  res: ServerResponse,
  deps: RequestContextDeps,
): SovendusRequestContext {
  attachRequestContext(req, res, deps);
  // Unset only where the shop itself set `req.sovendus = undefined`.
  return (req as WithContext).sovendus ?? new RequestContext(req, deps, res);
}
