import { SovendusConfigError } from './errors.js';

/**
 * Calls one of the shop's own callbacks (an event listener, a logger method) so that nothing it
 * does reaches the shop's request or process: a throw, or a returned promise (any thenable) that
 * rejects, goes to `onError`, which must not throw. A rejection nobody handles would end the
 * process, and an `async` listener is the natural thing to write. What the callback returns is
 * never awaited: a slow listener holds up nothing.
 */
export function callSafely(call: () => unknown, onError: (error: unknown) => void): void {
  let returned: unknown;
  try {
    returned = call();
  } catch (error) {
    onError(error);
    return;
  }
  // Most callbacks return nothing, and cost no promise. Promise.resolve adopts any thenable,
  // and turns a `then` that throws into a rejection.
  if (returned !== undefined && returned !== null) {
    Promise.resolve(returned).then(undefined, onError);
  }
}

const ignore = (): void => undefined;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return false; // a `then` getter that throws: not a promise anyone could await either
  }
}

/**
 * For a callback that must answer at once (it runs on every landing, where waiting would cost
 * every shop request): throws a `SovendusConfigError` that says so when it returned a promise,
 * after handling that promise's rejection, which left alone would end the process.
 */
export function refuseAsync(value: unknown, callback: string, wants: string): void {
  if (!isThenable(value)) return;
  Promise.resolve(value).then(undefined, ignore);
  throw new SovendusConfigError(
    `${callback}(req) returned a promise: it must return ${wants} itself, not async.`,
  );
}
