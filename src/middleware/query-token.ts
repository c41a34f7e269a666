import { checkToken } from '../conversion/token.js';
import { checkFound, invalid, type Found } from '../validity.js';

const NOT_FOUND: Found = { found: false };
const REPEATED: Found = { found: true, ...invalid('the parameter is repeated') };
const NESTED: Found = { found: true, ...invalid('the parameter is nested or an array') };

const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const BRACKET = 0x5b;
const PERCENT = 0x25;
const FIVE = 0x35;
const LOWER_B = 0x62;

/** The token parameter `name` of a raw request URL, read as `readQueryParam` does, and checked. */
export function readQueryToken(url: string, name: string): Found {
  return checkFound(readQueryParam(url, name), checkToken);
}

/**
 * Reads one parameter from a raw request URL, percent-decoded. We parse `req.url` ourselves
 * instead of using `req.query` because Connect has none, Express 4 and 5 parse it differently,
 * and a query parser turns `?p=a&p=b` and `?p[x]=1` into arrays and objects that must never reach a store.
 *
 * The parameter name is matched literally (not percent-decoded); a repeated or nested
 * parameter is reported as invalid rather than guessed at: the pairs are read in order, and the
 * first nested one, or the second one named exactly `name`, ends the scan.
 *
 * The scan is linear in the URL whatever its shape (a server with a raised `maxHeaderSize`
 * takes queries of megabytes): it jumps from one occurrence of the name to the next, and never
 * looks at a character twice but for the few after each occurrence. `name` is made of the
 * characters a `queryParam` may have (letters, digits, `_`, `.`, `-`), so an occurrence that
 * starts inside another one can never start a pair, and the next search may begin where the last
 * occurrence ends.
 */
export function readQueryParam(url: string, name: string): Found {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return NOT_FOUND;
  // The fast path for nearly every request: one substring search, no allocation.
  let at = url.indexOf(name, queryStart + 1);
  if (at === -1) return NOT_FOUND;

  let value: string | undefined;
  do {
    const keyEnd = at + name.length;
    // Only an occurrence that starts a pair names the parameter; others are inside a value or
    // another parameter's name.
    if (at === queryStart + 1 || url.charCodeAt(at - 1) === AMPERSAND) {
      const next = url.charCodeAt(keyEnd); // NaN at the end of the URL
      if (next === EQUALS || next === AMPERSAND || keyEnd === url.length) {
        if (value !== undefined) return REPEATED;
        let valueEnd = url.indexOf('&', keyEnd);
        if (valueEnd === -1) valueEnd = url.length;
        value = next === EQUALS ? url.slice(keyEnd + 1, valueEnd) : '';
        at = url.indexOf(name, valueEnd);
        continue;
      }
      if (
        next === BRACKET ||
        (next === PERCENT &&
          url.charCodeAt(keyEnd + 1) === FIVE &&
          (url.charCodeAt(keyEnd + 2) | 0x20) === LOWER_B)
      ) {
        return NESTED;
      }
      // else: another parameter that merely starts with the same letters
    }
    at = url.indexOf(name, keyEnd);
  } while (at !== -1);
  if (value === undefined) return NOT_FOUND;

  // A token as Sovendus sends it has nothing to decode: no copy of it is made then.
  if (value.includes('%') || value.includes('+')) {
    try {
      value = decodeURIComponent(value.replaceAll('+', ' '));
    } catch {
      return { found: true, ...invalid('it is not valid percent-encoding') };
    }
  }
  return { found: true, ok: true, value };
}
