import type { Setting } from '../../src/config/settings.js';

/** A setting read from the environment, as the checks below need it. */
type EnvRow = Pick<Setting, 'default'> & { env: string };

/** A line `NAME=value` of a .env file, or `# NAME=value` (an example left commented out). */
const ASSIGNMENT = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/;
/** The variables the package reads all start so, or are `REDIS_URL`. */
const PACKAGE_VARIABLE = /^SOVENDUS_|^REDIS_URL$/;

/**
 * What .env.example gets wrong about the settings: a variable it lacks or repeats, one the
 * table does not have, and a commented-out example that is not the default it stands for.
 */
export function envExampleProblems(text: string, settings: readonly EnvRow[]): string[] {
  const lines = text
    .split('\n')
    .map((line) => ASSIGNMENT.exec(line.trim()))
    .filter((match) => match !== null)
    .map(([, commented, name = '', value = '']) => ({
      commented: commented !== undefined,
      name,
      value,
    }));
  const problems: string[] = [];
  for (const setting of settings) {
    const found = lines.filter((line) => line.name === setting.env);
    if (found.length !== 1) {
      problems.push(`${setting.env} appears ${found.length} times in .env.example, not once`);
      continue;
    }
    const [line] = found;
    if (
      line?.commented &&
      setting.default !== undefined &&
      line.value !== String(setting.default)
    ) {
      problems.push(
        `${setting.env}=${line.value} in .env.example, but its default is ${setting.default}`,
      );
    }
  }
  const known = new Set(settings.map((setting) => setting.env));
  for (const { name } of lines) {
    if (PACKAGE_VARIABLE.test(name) && !known.has(name)) {
      problems.push(`${name} is in .env.example, but not in the table of settings`);
    }
  }
  return problems;
}

/**
 * What the environment table of a Markdown file (between `<!-- env-table:start -->` and
 * `<!-- env-table:end -->`) gets wrong: a variable it lacks, one the table does not have, and
 * its rows out of the table's order.
 */
export function envTableProblems(markdown: string, settings: readonly EnvRow[]): string[] {
  const start = markdown.indexOf('<!-- env-table:start -->');
  const end = markdown.indexOf('<!-- env-table:end -->');
  if (start === -1 || end < start) return ['there is no <!-- env-table:start/end --> block'];
  const rows = markdown
    .slice(start, end)
    .split('\n')
    .flatMap((line) => /^\|\s*`([A-Z][A-Z0-9_]*)`/.exec(line)?.slice(1, 2) ?? []);
  const wanted = settings.map((setting) => setting.env);
  const problems = [
    ...wanted.filter((name) => !rows.includes(name)).map((name) => `${name} has no row`),
    ...rows.filter((name) => !wanted.includes(name)).map((name) => `${name} is not a setting`),
  ];
  const order = rows.filter((name) => wanted.includes(name));
  if (problems.length === 0 && order.join() !== wanted.join()) {
    problems.push('the rows are not in the order of the table of settings');
  }
  return problems;
}
