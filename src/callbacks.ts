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
