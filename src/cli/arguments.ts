/** What a command line asks the bin to do. */
export type CliRequest =
  | { command: 'help' | 'version' }
  | { command: 'doctor'; sendTest: boolean; json: boolean; envFiles: string[] }
  | { command: 'worker'; envFiles: string[] }
  /** `problem` is empty when there was no command at all: the usage says enough. */
  | { command: 'usage error'; problem: string };

/**
 * The flag that names a .env file. Not `--env-file`: Node 20 reads that one itself wherever it
 * stands on the command line, the bin's arguments included, and exits (code 9, "not found")
 * before the bin runs when the file is missing. `--env-file=PATH` is still read, for the
 * command lines that used it, where Node leaves it to the bin.
 */
const DOTENV = '--dotenv';
const OLD_ENV_FILE = '--env-file=';

/** Reads the command and its flags; a flag the command does not know is a usage error. */
export function parseArguments(argv: readonly string[]): CliRequest {
  const [command, ...flags] = argv;
  if (command === '--help' || command === '-h') return { command: 'help' };
  if (command === '--version' || command === '-v') return { command: 'version' };
  if (command !== 'doctor' && command !== 'worker') {
    return {
      command: 'usage error',
      problem: command === undefined ? '' : `Unknown command ${command}`,
    };
  }
  const envFiles: string[] = [];
  let sendTest = false;
  let json = false;
  for (let index = 0; index < flags.length; index += 1) {
    const flag = flags[index] ?? '';
    if (flag.startsWith(`${DOTENV}=`)) envFiles.push(flag.slice(DOTENV.length + 1));
    else if (flag.startsWith(OLD_ENV_FILE)) envFiles.push(flag.slice(OLD_ENV_FILE.length));
    else if (flag === DOTENV) {
      index += 1;
      const path = flags[index];
      if (path === undefined) return { command: 'usage error', problem: `${DOTENV} needs a PATH` };
      envFiles.push(path);
    } else if (command === 'doctor' && flag === '--send-test') sendTest = true;
    else if (command === 'doctor' && flag === '--json') json = true;
    else return { command: 'usage error', problem: `Unknown option ${flag}` };
  }
  return command === 'doctor' ? { command, sendTest, json, envFiles } : { command, envFiles };
}
