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
