import { invalid, valid, type Found } from '../validity.js';

const NOT_FOUND: Found = { found: false };
const REPEATED: Found = { found: true, ...invalid('the cookie is repeated') };
const BAD_ENCODING: Found = {
  found: true,
  ...invalid('it is not valid percent-encoding'),
};

const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const SPACE = 0x20;
const TAB = 0x09;

const isBlank = (code: number) => code === SPACE || code === TAB;

/**
 * Reads the cookie `name` from a request's `Cookie` header, without parsing the others: it runs
 * on every request that carries no token in its query, and nearly all of them lack the name,
 * which costs one substring search.
 *
 * Sovendus' browser scripts write their cookies raw and read them with `decodeURIComponent`,
 * so the value is decoded the same way (no `+` for a space). A name sent twice (a cookie of the
 * same name on another path or domain) is reported as invalid rather than guessed at, as a
 * repeated query parameter is. An occurrence of the name that does not start a pair (inside a
 * value, or the end of a longer name) or that ends before `=` (the start of a longer name) is
 * another cookie's.
 *
 * The scan is linear in the header: it jumps from one occurrence of the name to the next, and
 * looks back (or ahead) only over the blanks that touch an occurrence. `name` must be a cookie
 * name (no `;`, `=` or blanks), so an occurrence that starts inside another one can never start
 * a pair, and the next search may begin where the last occurrence ends.
 */
export function readCookie(header: string | undefined, name: string): Found {
  if (header === undefined) return NOT_FOUND;
  let at = header.indexOf(name);
  if (at === -1) return NOT_FOUND;

  let value: string | undefined;
  do {
    let before = at - 1;
    while (before >= 0 && isBlank(header.charCodeAt(before))) before -= 1;
    let equals = at + name.length;
    while (isBlank(header.charCodeAt(equals))) equals += 1;
    if (
      (before === -1 || header.charCodeAt(before) === SEMICOLON) &&
      header.charCodeAt(equals) === EQUALS
    ) {
      if (value !== undefined) return REPEATED;
      let valueEnd = header.indexOf(';', equals);
      if (valueEnd === -1) valueEnd = header.length;
      value = header.slice(equals + 1, valueEnd).trim();
      at = header.indexOf(name, valueEnd);
    } else {
      at = header.indexOf(name, at + name.length);
    }
  } while (at !== -1);
  if (value === undefined) return NOT_FOUND;

  try {
    return { found: true, ...valid(decodeURIComponent(value)) };
  } catch {
    return BAD_ENCODING;
  }
}
