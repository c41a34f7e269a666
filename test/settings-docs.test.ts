import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_SETTINGS } from '../src/config/settings.js';
import { repositoryRoot } from './support/consumer-project.js';
import { envExampleProblems, envTableProblems } from './support/settings-docs.js';

/*
 * The table of settings (src/config/settings.ts) is the one list: the environment table of
 * docs/api.md (written by scripts/options-table.mjs) and .env.example must name every variable
 * in it, so that a setting added to the table and not to the docs fails here.
 */

const read = (file: string) => readFileSync(join(repositoryRoot, file), 'utf8');
/** A setting as a new one would be added to the table. */
const added = { env: 'SOVENDUS_NEW_SETTING', default: 7 };

describe('the environment table of docs/api.md', () => {
  it('has one row per variable of the table of settings, in its order', () => {
    expect(envTableProblems(read('docs/api.md'), ENV_SETTINGS)).toEqual([]);
  });

  it('is found lacking a row that is missing, or a setting added to the table', () => {
    const text = read('docs/api.md');
    const withoutTimeout = text.replace(/^\| `SOVENDUS_TIMEOUT_MS`.*\n/m, '');
    expect(envTableProblems(withoutTimeout, ENV_SETTINGS)).toEqual([
      'SOVENDUS_TIMEOUT_MS has no row',
    ]);
    expect(envTableProblems(text, [...ENV_SETTINGS, added])).toEqual([
      'SOVENDUS_NEW_SETTING has no row',
    ]);
  });
});

describe('.env.example', () => {
  it('names every variable of the table once, its commented-out examples at their defaults', () => {
    expect(envExampleProblems(read('.env.example'), ENV_SETTINGS)).toEqual([]);
  });

  it('is found lacking a row that is missing, or a setting added to the table', () => {
    const text = read('.env.example');
    const withoutTimeout = text.replace(/^.*SOVENDUS_TIMEOUT_MS=.*\n/m, '');
    expect(envExampleProblems(withoutTimeout, ENV_SETTINGS)).toEqual([
      'SOVENDUS_TIMEOUT_MS appears 0 times in .env.example, not once',
    ]);
    expect(envExampleProblems(text, [...ENV_SETTINGS, added])).toEqual([
      'SOVENDUS_NEW_SETTING appears 0 times in .env.example, not once',
    ]);
  });

  it('is found wrong where an example is not the default, or a variable is not in the table', () => {
    const text = read('.env.example')
      .replace(/SOVENDUS_TIMEOUT_MS=\d+/, 'SOVENDUS_TIMEOUT_MS=1500')
      .concat('# SOVENDUS_OLD_SETTING=1\n');
    expect(envExampleProblems(text, ENV_SETTINGS)).toEqual([
      'SOVENDUS_TIMEOUT_MS=1500 in .env.example, but its default is 2000',
      'SOVENDUS_OLD_SETTING is in .env.example, but not in the table of settings',
    ]);
  });
});
