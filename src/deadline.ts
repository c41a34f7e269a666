/**
 * Runs `work` but gives up waiting after `timeoutMs`, rejecting with `onTimeout()`; any failure
 * of `work` is rejected as `onFailure(error)`. The work itself may still finish later: callers
 * use this only for operations that are safe to land late.
 */
export function withDeadline<T>(
  work: () => Promise<T>,
  timeoutMs: number,
  onTimeout: () => Error,
  onFailure: (error: unknown) => Error,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(onTimeout());
    }, timeoutMs);
    timer.unref();
    // Via a promise, so that work that throws synchronously is handled like work that rejects.
    Promise.resolve()
      .then(work)
      .then(
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
