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

  let value: string | undefined;
  let count = 0;
  for (const pair of url.slice(queryStart + 1).split('&')) {
    if (!pair.startsWith(name)) continue;
    const equals = pair.indexOf('=');
    const key = equals === -1 ? pair : pair.slice(0, equals);
    if (key !== name) {
      const rest = key.slice(name.length);
      if (rest.startsWith('[') || rest.toLowerCase().startsWith('%5b')) {
        return { found: true, ok: false, reason: 'the parameter is nested or an array' };
      }
      continue; // another parameter that merely starts with the same letters
    }
    count += 1;
    value = equals === -1 ? '' : pair.slice(equals + 1);
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
