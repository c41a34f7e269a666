import { createServer } from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { readQueryToken } from '../src/middleware/query-token.js';
import type { Found } from '../src/validity.js';
import { checkToken } from '../src/conversion/token.js';
import { createShop, TEST_TOKEN } from './support/shop.js';
import { countWork, repeatTo } from './support/work-count.js';

/**
 * The query scan runs on every shop request, and a server with a raised `maxHeaderSize` lets a
 * visitor send a query of megabytes. Its work must grow linearly with the URL whatever the URL's
 * shape. Work is counted, not timed (support/work-count.ts).
 */
const NAME = 'sovReqToken';
const MB = 1024 * 1024;

const HOSTILE_SHAPES: [string, string][] = [
  ['the parameter, bare, repeated', repeatTo('/?', `${NAME}&`, MB)],
  ['near misses only (sovReqTokenX&...)', repeatTo('/?', `${NAME}X&`, MB)],
  ['one token, then near misses', repeatTo(`/?${NAME}=${TEST_TOKEN}&`, `${NAME}x&`, MB)],
  ['near misses with values', repeatTo('/?', `${NAME}_=${NAME}&`, MB)],
  ['empty pairs, then the token', `${repeatTo('/?', '&', MB)}${NAME}=${TEST_TOKEN}`],
  ['the name inside one huge value', repeatTo('/?q=', `${NAME}&x`, MB).replaceAll('&', '')],
  ['equals signs after the name', repeatTo(`/?${NAME}`, '=', MB)],
  ['question marks and names', repeatTo('/?', `?${NAME}`, MB)],
];

describe('the query scan', () => {
  it.each(HOSTILE_SHAPES)('does linear work on a 1 MB query: %s', (_shape, url) => {
    const { work } = countWork(() => readQueryToken(url, NAME));
    expect(work).toBeLessThanOrEqual(4 * url.length);
  });

  it('does linear work on any repeated hostile chunk', () => {
    const pieces = fc.constantFrom('&', '=', '?', '[', '%5B', 'x', NAME, `${NAME}=`, `${NAME}X`);
    fc.assert(
      fc.property(fc.array(pieces, { minLength: 1, maxLength: 6 }), (chunk) => {
        const url = repeatTo('/p?', chunk.join(''), 64 * 1024);
        const { work } = countWork(() => readQueryToken(url, NAME));
        expect(work).toBeLessThanOrEqual(4 * url.length);
      }),
      { numRuns: 200 },
    );
  });

  it('still costs one substring search when the token is absent', () => {
    const url = `/products/shoes?page=2&sort=price&${'utm_campaign=x&'.repeat(20)}sovReq=1`;
    const { result, work } = countWork(() => readQueryToken(url, NAME));
    expect(result).toEqual({ found: false });
    // The search for "?" and the search for the name: each character looked at about once.
    expect(work).toBeLessThanOrEqual(url.length + NAME.length);
  });

  it('stops at the second occurrence of the parameter: a repeated parameter is rejected', () => {
    const url = `/?${NAME}=${TEST_TOKEN}&${NAME}=${TEST_TOKEN}&${'a=b&'.repeat(MB / 4)}`;
    const { result, work } = countWork(() => readQueryToken(url, NAME));
    expect(result).toEqual({ found: true, ok: false, problem: 'the parameter is repeated' });
    expect(work).toBeLessThan(1_000);
  });

  it('means what it meant before: the same answer as a plain pair-by-pair reading', () => {
    const piece = fc.constantFrom(
      '&',
      '=',
      '?',
      '[',
      ']',
      '%5B',
      '%5b',
      '%5',
      '+',
      '%20',
      '%ZZ',
      'x',
      TEST_TOKEN,
      NAME,
      `${NAME}=`,
      `${NAME}X`,
      `X${NAME}`,
    );
    const url = fc
      .tuple(fc.constantFrom('/', '/a?b', '/p'), fc.array(piece, { maxLength: 10 }))
      .map(([path, parts]) => `${path}?${parts.join('')}`);
    fc.assert(
      fc.property(fc.oneof(url, fc.string()), (candidate) => {
        expect(readQueryToken(candidate, NAME)).toEqual(readPairByPair(candidate, NAME));
      }),
      { numRuns: 5_000 },
    );
  });

  it('serves a 4 MB hostile query on a server that allows it, and rejects the parameter', async () => {
    const { app, sovendus } = createShop({});
    const rejected: string[] = [];
    sovendus.on('rejected', ({ reason }) => rejected.push(reason));
    const server = createServer({ maxHeaderSize: 8 * MB }, app);
    const shapes = [repeatTo('/?', `${NAME}&`, 4 * MB), repeatTo('/?', `${NAME}X&`, 4 * MB)];
    for (const url of shapes) {
      await request(server).get(url).expect(200, 'shop page');
    }
    expect(rejected).toEqual(['the parameter is repeated']);
  });
});

/**
 * The meaning, written the obvious (and allocating) way: the query is split into `&`-separated
 * pairs, read in order; a pair whose key is the name followed by `[` or `%5B` is a nested
 * parameter, and a second pair whose key is exactly the name is a repeated one: both are
 * rejected at once. A pair without `=` has the empty value.
 */
function readPairByPair(url: string, name: string): Found {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return { found: false };
  let value: string | undefined;
  for (const pair of url.slice(queryStart + 1).split('&')) {
    const equals = pair.indexOf('=');
    const key = equals === -1 ? pair : pair.slice(0, equals);
    if (key === name) {
      if (value !== undefined)
        return { found: true, ok: false, problem: 'the parameter is repeated' };
      value = equals === -1 ? '' : pair.slice(equals + 1);
    } else if (key.startsWith(name)) {
      const rest = key.slice(name.length);
      if (rest.startsWith('[') || rest.slice(0, 3).toLowerCase() === '%5b') {
        return { found: true, ok: false, problem: 'the parameter is nested or an array' };
      }
    }
  }
  if (value === undefined) return { found: false };
  let decoded: string;
  try {
    decoded = decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    return { found: true, ok: false, problem: 'it is not valid percent-encoding' };
  }
  return { found: true, ...checkToken(decoded) };
}
