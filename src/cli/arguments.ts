import { DEAD_LETTER_ID, MAX_LISTED } from '../queue/dead-letters.js';

/** What a command line asks the bin to do. */
export type CliRequest =
  | { command: 'help' | 'version' }
  | { command: 'doctor'; sendTest: boolean; json: boolean; envFiles: string[] }
  | { command: 'worker'; envFiles: string[] }
  | { command: 'dead list'; json: boolean; limit: number | undefined; envFiles: string[] }
  | { command: 'dead retry'; ids: string[] | 'all'; envFiles: string[] }
  | { command: 'dead drop'; ids: string[]; envFiles: string[] }
  | { command: 'stats'; json: boolean; once: boolean; intervalSeconds: number; envFiles: string[] }
  /** `problem` is empty when there was no command at all: the usage says enough. */
  | { command: 'usage error'; problem: string };

type UsageError = Extract<CliRequest, { command: 'usage error' }>;

/**
 * The flag that names a .env file. Not `--env-file`: Node 20 reads that one itself wherever it
 * stands on the command line, the bin's arguments included, and exits (code 9, "not found")
 * before the bin runs when the file is missing. `--env-file=PATH` is still read, for the
 * command lines that used it, where Node leaves it to the bin.
 */
const DOTENV = '--dotenv';
const OLD_ENV_FILE = '--env-file=';

/** How often `stats` refreshes unless told: seconds. */
export const DEFAULT_INTERVAL_SECONDS = 5;
const MAX_INTERVAL_SECONDS = 3600;

/** What a command's arguments came to, before the command makes its request of them. */
interface Read {
  envFiles: string[];
  /** Flags without a value (`--json`), and `--name=value` ones by name. */
  flags: Map<string, string | true>;
  /** Arguments that are no flag: the dead letter ids. */
  words: string[];
}

/**
 * Reads flags and words; a flag the command does not take (`known`: the flags it takes, a
 * trailing `=` for those with a value) is a usage error.
 */
function readFlags(args: readonly string[], known: readonly string[]): Read | UsageError {
  const read: Read = { envFiles: [], flags: new Map(), words: [] };
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    const [name = '', value] = arg.split(/=(.*)/s, 2);
    if (name === DOTENV && value === undefined) {
      index += 1;
      const path = args[index];
      if (path === undefined) return usageError(`${DOTENV} needs a PATH`);
      read.envFiles.push(path);
    } else if (name === DOTENV) read.envFiles.push(value ?? '');
    else if (arg.startsWith(OLD_ENV_FILE)) read.envFiles.push(arg.slice(OLD_ENV_FILE.length));
    else if (!arg.startsWith('-')) read.words.push(arg);
    else if (known.includes(value === undefined ? name : `${name}=`)) {
      read.flags.set(name, value ?? true);
    } else return usageError(`Unknown option ${name}`);
  }
  return read;
}

const usageError = (problem: string): UsageError => ({ command: 'usage error', problem });

/** A whole number from `min` to `max` given as `--name=N`; `undefined` when it was not given. */
function wholeFlag(read: Read, name: string, max: number): number | undefined | UsageError {
  const value = read.flags.get(name);
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && /^[0-9]{1,9}$/.test(value) ? Number(value) : NaN;
  return number >= 1 && number <= max
    ? number
    : usageError(`${name} takes a whole number from 1 to ${max}`);
}

/**
 * The ids of `dead retry` and `dead drop`. One that is not an id is named by its place, not
 * shown: a token pasted by mistake must not be printed.
 */
function deadLetterIds(words: readonly string[]): string[] | UsageError {
  const wrong = words.findIndex((word) => !DEAD_LETTER_ID.test(word));
  return wrong === -1
    ? [...words]
    : usageError(
        `Argument ${wrong + 1} after the action is not a dead letter id (12 hex digits, as dead list shows them)`,
      );
}

function parseDead(args: readonly string[]): CliRequest {
  const [action, ...rest] = args;
  const known = { list: ['--json', '--limit='], retry: ['--all'], drop: [] }[action ?? ''];
  if (action === undefined || known === undefined) {
    return usageError('dead takes an action: list, retry or drop');
  }
  const read = readFlags(rest, known);
  if ('command' in read) return read;
  const { envFiles, flags, words } = read;
  if (action === 'list') {
    const limit = wholeFlag(read, '--limit', MAX_LISTED);
    if (typeof limit === 'object') return limit;
    if (words.length > 0) return usageError('dead list takes no ids');
    return { command: 'dead list', json: flags.has('--json'), limit, envFiles };
  }
  const ids = deadLetterIds(words);
  if (!Array.isArray(ids)) return ids;
  if (action === 'drop') {
    return ids.length === 0
      ? usageError('dead drop needs the ids of the dead letters to drop')
      : { command: 'dead drop', ids, envFiles };
  }
  if (flags.has('--all') === ids.length > 0) {
    return usageError('dead retry takes the ids of the dead letters to retry, or --all');
  }
  return { command: 'dead retry', ids: flags.has('--all') ? 'all' : ids, envFiles };
}

function parseStats(args: readonly string[]): CliRequest {
  const read = readFlags(args, ['--json', '--once', '--interval=']);
  if ('command' in read) return read;
  if (read.words.length > 0) return usageError('stats takes no arguments but its options');
  const interval = wholeFlag(read, '--interval', MAX_INTERVAL_SECONDS);
  if (typeof interval === 'object') return interval;
  return {
    command: 'stats',
    json: read.flags.has('--json'),
    once: read.flags.has('--once'),
    intervalSeconds: interval ?? DEFAULT_INTERVAL_SECONDS,
    envFiles: read.envFiles,
  };
}

/** Reads the command and its flags; a flag the command does not know is a usage error. */
export function parseArguments(argv: readonly string[]): CliRequest {
  const [command, ...args] = argv;
  // Asked for anywhere, `--help` is what is wanted: `dead retry --help` as much as `--help`.
  if (argv.includes('--help') || argv.includes('-h')) return { command: 'help' };
  switch (command) {
    case '--version':
    case '-v':
      return { command: 'version' };
    case 'dead':
      return parseDead(args);
    case 'stats':
      return parseStats(args);
    case 'worker': {
      const read = readFlags(args, []);
      if ('command' in read) return read;
      return read.words.length > 0
        ? usageError('worker takes no arguments but --dotenv')
        : { command, envFiles: read.envFiles };
    }
    case 'doctor': {
      const read = readFlags(args, ['--send-test', '--json']);
      if ('command' in read) return read;
      if (read.words.length > 0) return usageError('doctor takes no arguments but its options');
      const { envFiles, flags } = read;
      return { command, sendTest: flags.has('--send-test'), json: flags.has('--json'), envFiles };
    }
    default:
      return usageError(command === undefined ? '' : `Unknown command ${command}`);
  }
}
