/**
 * Lets the event loop take one more turn. Node reports a promise rejection that nobody handled
 * once the microtask queue has drained, before the next macrotask; jest fails the test that is
 * running when it does. So a test that awaits this after the shop's callback rejected has its
 * unhandled rejection (if any) reported against it, however fast or slow the machine.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A log line as a pino-compatible logger receives it. */
export interface LogLine {
  level: string;
  object: Record<string, unknown>;
  message: string;
}

/**
 * A logger that keeps every line, at every level. `logged(match)` resolves with the first line
 * that matches, at once or when it comes: a test waits for the state, not for a time.
 */
export function recordingLogger() {
  const lines: LogLine[] = [];
  const waiting = new Set<{ match: (line: LogLine) => boolean; found: (line: LogLine) => void }>();
  const at =
    (level: string) =>
    (object: Record<string, unknown>, message: string): void => {
      const line = { level, object, message };
      lines.push(line);
      for (const waiter of waiting) {
        if (waiter.match(line)) {
          waiting.delete(waiter);
          waiter.found(line);
        }
      }
    };
  const logged = (match: (line: LogLine) => boolean): Promise<LogLine> => {
    const line = lines.find(match);
    if (line) return Promise.resolve(line);
    return new Promise((found) => waiting.add({ match, found }));
  };
  return {
    lines,
    logged,
    logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') },
  };
}
