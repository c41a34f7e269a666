import { checkToken, type TokenCheck } from '../token.js';

export type QueryToken = { found: false } | ({ found: true } & TokenCheck);

const NOT_FOUND: QueryToken = { found: false };

/**
 * Reads one parameter from a raw request URL. We parse `req.url` ourselves instead of using
 * `req.query` because Connect has none, Express 4 and 5 parse it differently, and a query
 * parser turns `?p=a&p=b` and `?p[x]=1` into arrays and objects that must never reach a store.
 *
 * The parameter name is matched literally (not percent-decoded); a repeated or nested
 * parameter is reported as invalid rather than guessed at.
 */
export function readQueryToken(url: string, name: string): QueryToken {
  const queryStart = url.indexOf('?');
  // The fast path for nearly every request: one substring search, no allocation.
  if (queryStart === -1 || !url.includes(name, queryStart)) return NOT_FOUND;

  // Walk the pairs with indexOf instead of split('&'): no array of every pair on a request.
  let value: string | undefined;
  let count = 0;
  for (let start = queryStart + 1; start <= url.length;) {
    let end = url.indexOf('&', start);
    if (end === -1) end = url.length;
    if (url.startsWith(name, start)) {
      const equals = url.indexOf('=', start);
      const keyEnd = equals === -1 || equals > end ? end : equals;
      if (keyEnd === start + name.length) {
        count += 1;
        value = keyEnd === end ? '' : url.slice(keyEnd + 1, end);
      } else {
        const rest = url.slice(start + name.length, Math.min(keyEnd, start + name.length + 3));
        if (rest.startsWith('[') || rest.toLowerCase() === '%5b') {
          return { found: true, ok: false, reason: 'the parameter is nested or an array' };
        }
        // else: another parameter that merely starts with the same letters
      }
    }
    start = end + 1;
  }
  if (count === 0 || value === undefined) return NOT_FOUND;
  if (count > 1) return { found: true, ok: false, reason: 'the parameter is repeated' };

  let decoded: string;
  try {
    decoded = decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    return { found: true, ok: false, reason: 'it is not valid percent-encoding' };
  }
  return { found: true, ...checkToken(decoded) };
}
