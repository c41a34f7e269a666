/**
 * Runs `work` but gives up waiting after `timeoutMs`, rejecting with `onTimeout(pending)`; any
 * failure of `work` is rejected as `onFailure(error)`. The work itself may still finish later,
 * as `pending`: callers use this only for operations that are safe to finish late, or that
 * watch `pending` and see them through.
 */
export function withDeadline<T>(
  work: () => Promise<T>,
  timeoutMs: number,
  onTimeout: (pending: Promise<T>) => Error,
  onFailure: (error: unknown) => Error,
): Promise<T> {
  let pending: Promise<T>;
  try {
    // Started at once, with no microtask hop (this runs on every store call); a custom store's
    // thenable becomes a promise.
    pending = Promise.resolve(work());
  } catch (error) {
    // Work that throws synchronously fails like work that rejects.
    return Promise.reject(onFailure(error));
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(onTimeout(pending));
    }, timeoutMs);
    timer.unref();
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(onFailure(error));
      },
    );
  });
}

/**
 * Calls `fire` once `ms` have passed and the event loop has taken one more round of I/O: when
 * the process itself stalled past `ms` (a long GC, a busy shop), an answer that arrived
 * meanwhile is read before time is called on it. Keeps no process alive. Returns a canceller.
 */
export function afterTimeAndIo(ms: number, fire: () => void): () => void {
  let afterIo: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => {
    afterIo = setImmediate(fire);
  }, ms);
  timer.unref();
  return () => {
    clearTimeout(timer);
    clearImmediate(afterIo);
  };
}

/** What `work` came to, or `undefined` if it did not settle within `ms` (see `afterTimeAndIo`). */
export async function settledWithin<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let cancel: (() => void) | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    cancel = afterTimeAndIo(ms, () => {
      resolve(undefined);
    });
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    cancel?.();
  }
}
