/**
 * Counts the work of a string scan instead of timing it: every String and RegExp primitive the
 * scan calls is charged the characters it may look at (a search from `from` to its hit, a slice
 * its length, ...), so a test of linear work passes or fails the same on any machine.
 */
type Cost = (self: string, args: unknown[], result: unknown) => number;

const searched: Cost = (self, args, result) => {
  const from = Math.max(0, Math.min(self.length, Number(args[1] ?? 0) || 0));
  const found = typeof result === 'number' ? result : result === true ? -2 : -1;
  // `includes` does not say where it stopped: charge it the whole rest, as a miss.
  if (found < 0) return self.length - from;
  return found - from + String(args[0]).length;
};
const whole: Cost = (self) => self.length;
const one: Cost = () => 1;
/** A prefix test looks at characters until the first difference. */
const prefix: Cost = (self, args) => {
  const search = String(args[0]);
  const at = Number(args[1] ?? 0) || 0;
  let same = 0;
  while (same < search.length && self[at + same] === search[same]) same += 1;
  return Math.min(same + 1, search.length);
};
const produced: Cost = (_self, _args, result) => (typeof result === 'string' ? result.length : 0);

const STRING_COSTS: Record<string, Cost> = {
  indexOf: searched,
  includes: searched,
  lastIndexOf: whole,
  search: whole,
  match: whole,
  matchAll: whole,
  split: whole,
  replace: whole,
  replaceAll: whole,
  toLowerCase: whole,
  toUpperCase: whole,
  startsWith: prefix,
  endsWith: (_self, args) => String(args[0]).length,
  slice: produced,
  trim: produced,
  substring: produced,
  substr: produced,
  charCodeAt: one,
  codePointAt: one,
  charAt: one,
  at: one,
};

/** Runs `scan` with every string primitive charged its work; returns the result and the total. */
export function countWork<T>(scan: () => T): { result: T; work: number } {
  let work = 0;
  let counting = false;
  const restore: (() => void)[] = [];
  const patch = (target: object, name: string, cost: Cost) => {
    const original = (target as Record<string, unknown>)[name] as (...a: unknown[]) => unknown;
    (target as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (!counting) {
        counting = true;
        work += cost(String(this), args, result);
        counting = false;
      }
      return result;
    };
    restore.push(() => {
      (target as Record<string, unknown>)[name] = original;
    });
  };
  for (const [name, cost] of Object.entries(STRING_COSTS)) patch(String.prototype, name, cost);
  patch(RegExp.prototype, 'exec', (_self, args) => String(args[0]).length);
  patch(RegExp.prototype, 'test', (_self, args) => String(args[0]).length);
  try {
    return { result: scan(), work };
  } finally {
    for (const undo of restore.reverse()) undo();
  }
}

/** About `bytes` of `chunk`, repeated, after `prefix`. */
export const repeatTo = (prefix: string, chunk: string, bytes: number) =>
  prefix + chunk.repeat(Math.ceil(bytes / chunk.length));
