/**
 * Runs `work` but gives up waiting after `timeoutMs`, rejecting with `onTimeout(pending)`; any
 * failure of `work` is rejected as `onFailure(error)`. The work itself may still finish later,
 * as `pending`: callers use this only for operations that are safe to land late, or that
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
