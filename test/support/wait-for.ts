/**
 * Resolves once `holds` does, looking every 20 ms: tests wait for a state, never for a time.
 * It gives up after `timeoutMs` (keep it below the test's own timeout) with `what` and
 * `detail()` in the error, so that a state that never comes fails its test, saying why,
 * instead of being polled for after the test ended and keeping jest from exiting.
 */
export async function waitFor(
  holds: () => boolean | Promise<boolean>,
  what: string,
  { timeoutMs = 15_000, detail }: { timeoutMs?: number; detail?: () => string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await holds())) {
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeoutMs} ms for ${what}${detail ? `:\n${detail()}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Resolves once `check` stops throwing (a block of `expect`s, say), looking every 20 ms; after
 * `timeoutMs` it rethrows the last failure, so the test reports the assertion that never held.
 */
export async function eventually(
  check: () => void | Promise<void>,
  timeoutMs = 10_000,
): Promise<void> {
  let failure: unknown;
  const holds = async () => {
    try {
      await check();
      return true;
    } catch (error) {
      failure = error;
      return false;
    }
  };
  try {
    await waitFor(holds, 'a check to pass', { timeoutMs });
  } catch {
    throw failure;
  }
}
