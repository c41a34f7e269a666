import { callSafely } from './callbacks.js';
import { fieldsWithoutCommandArgs } from './command-args.js';
import type { SovendusLogger } from './types.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** The logger the package writes to: every level present, silent where the shop gave none. */
export type Log = Record<Level, (object: Record<string, unknown>, message: string) => void>;

const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

const ignore = (): void => undefined;

/** Wraps the shop's logger: a missing level is silent, a throw or rejection ignored. */
export function createLog(logger: SovendusLogger | undefined): Log {
  const log = {} as Log;
  for (const level of LEVELS) {
    log[level] =
      typeof logger?.[level] === 'function'
        ? (object, message) => {
            // A broken logger (one that throws, or an async one that rejects) must not break
            // the shop's request or process; there is nowhere left to report it. No Redis
            // command's arguments (token, session id) reach the shop's log.
            callSafely(
              () => logger[level]?.(fieldsWithoutCommandArgs(object), `sovendus: ${message}`),
              ignore,
            );
          }
        : () => undefined;
  }
  return log;
}
