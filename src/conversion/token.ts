import { invalid, valid, type Checked } from '../validity.js';

/**
 * Sovendus documents no token grammar; the tokens seen in the wild are letters, digits and
 * dashes of 20-40 characters. We accept a loose superset and reject everything that could
 * be an attack or a broken integration, because the token ends up in a URL path.
 */
export const MAX_TOKEN_LENGTH = 128;

const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Values broken front ends have been seen to send instead of a token. */
const PLACEHOLDERS = new Set(['undefined', 'null']);
const PLACEHOLDER_LENGTHS = new Set([...PLACEHOLDERS].map((placeholder) => placeholder.length));

/** Checks a token parameter's value: ASCII letters, digits, `-`, `_`, 1 to 128 of them. */
export function checkToken(value: unknown): Checked<string> {
  if (typeof value !== 'string') return invalid('it is not a string');
  if (value.length === 0) return invalid('it is empty');
  if (value.length > MAX_TOKEN_LENGTH) {
    return invalid(`it is longer than ${MAX_TOKEN_LENGTH} characters`);
  }
  if (!TOKEN_PATTERN.test(value)) {
    return invalid('only ASCII letters, digits, "-" and "_" are allowed');
  }
  // Lower-cased only at a placeholder's length: no string made for a real token.
  if (PLACEHOLDER_LENGTHS.has(value.length) && PLACEHOLDERS.has(value.toLowerCase())) {
    return invalid(`"${value}" is a placeholder, not a token`);
  }
  return valid(value);
}

/** Tokens are logged by their first 8 characters only, as Sovendus' own debug helper does. */
export function maskToken(token: string): string {
  return token.length <= 8 ? token : `${token.slice(0, 8)}…`;
}
