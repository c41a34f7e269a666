/*
 * "Valid, or why not": the one answer of every check of the package's input (a token, an order
 * id, a voucher code, a whole conversion or redemption). The caller learns which with `ok`, and
 * has either the value as it is used from then on (trimmed, normalized, hashed) or the problem,
 * which is a sentence for an error message unless the check says otherwise.
 */

/** The input passed its check: `value` is what it is used as from here on. */
export interface Valid<T> {
  ok: true;
  value: T;
}

/** The input failed its check: `problem` says why. */
export interface Invalid<Problem = string> {
  ok: false;
  problem: Problem;
}

/** What a check answers: valid, or why not. */
export type Checked<T, Problem = string> = Valid<T> | Invalid<Problem>;

/** A value that passed. */
export const valid = <T>(value: T): Valid<T> => ({ ok: true, value });

/** A value that did not, and why. */
export const invalid = <Problem = string>(problem: Problem): Invalid<Problem> => ({
  ok: false,
  problem,
});

/** Something looked for in the request (a query parameter, a cookie): absent, or found and checked. */
export type Found<T = string> = { found: false } | ({ found: true } & Checked<T>);

/**
 * `found` held to `check`. A value that passes unchanged is answered as the same object: this
 * runs on every landing that carries a token.
 */
export function checkFound<T>(found: Found<T>, check: (value: T) => Checked<T>): Found<T> {
  if (!found.found || !found.ok) return found;
  const checked = check(found.value);
  if (!checked.ok) return { found: true, ok: false, problem: checked.problem };
  return checked.value === found.value ? found : { found: true, ok: true, value: checked.value };
}
