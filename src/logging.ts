import { fieldsWithoutCommandArgs } from './command-args.js';
import type { SovendusLogger } from './types.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** The logger the package writes to: every level present, silent where the shop gave none. */
export type Log = Record<Level, (object: Record<string, unknown>, message: string) => void>;

const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

export function createLog(logger: SovendusLogger | undefined): Log {
  const log = {} as Log;
  for (const level of LEVELS) {
    log[level] =
      typeof logger?.[level] === 'function'
        ? (object, message) => {
            try {
              // No Redis command's arguments (token, session id) reach the shop's log.
              logger[level]?.(fieldsWithoutCommandArgs(object), `sovendus: ${message}`);
            } catch {
              // A broken logger must not break the shop's request.
            }
          }
        : () => undefined;
  }
  return log;
}
