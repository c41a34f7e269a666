/**
 * Sovendus documents no token grammar; the tokens seen in the wild are letters, digits and
 * dashes of 20-40 characters. We accept a loose superset and reject everything that could
 * be an attack or a broken integration, because the token ends up in a URL path.
 */
export const MAX_TOKEN_LENGTH = 128;

const TOKEN_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Values broken front ends have been seen to send instead of a token. */
const PLACEHOLDERS = new Set(['undefined', 'null']);

/** A valid token, or why a value is not one. */
export type TokenCheck = { ok: true; token: string } | { ok: false; reason: string };

/** Checks a token parameter's value: ASCII letters, digits, `-`, `_`, 1 to 128 of them. */
export function checkToken(value: unknown): TokenCheck {
  if (typeof value !== 'string') return { ok: false, reason: 'it is not a string' };
  if (value.length === 0) return { ok: false, reason: 'it is empty' };
  if (value.length > MAX_TOKEN_LENGTH) {
    return { ok: false, reason: `it is longer than ${MAX_TOKEN_LENGTH} characters` };
  }
  if (!TOKEN_PATTERN.test(value)) {
    return { ok: false, reason: 'only ASCII letters, digits, "-" and "_" are allowed' };
  }
  if (PLACEHOLDERS.has(value.toLowerCase())) {
    return { ok: false, reason: `"${value}" is a placeholder, not a token` };
  }
  return { ok: true, token: value };
}

/** Tokens are logged by their first 8 characters only, as Sovendus' own debug helper does. */
export function maskToken(token: string): string {
  return token.length <= 8 ? token : `${token.slice(0, 8)}…`;
}
