import fc from 'fast-check';
import { readCookie } from '../src/middleware/request-cookie.js';
import { TEST_TOKEN } from './support/shop.js';
import { countWork, repeatTo } from './support/work-count.js';

/**
 * The cookie scan runs on every request without a token in its query, and a server with a
 * raised `maxHeaderSize` takes a Cookie header of megabytes. Its work must grow linearly with
 * the header whatever its shape (counted, not timed: support/work-count.ts).
 */
const NAME = 'sovReqToken';
const MB = 1024 * 1024;

const HOSTILE_SHAPES: [string, string][] = [
  ['the name, bare, repeated', repeatTo('', `${NAME}; `, MB)],
  ['longer names only', repeatTo('', `${NAME}X=1; `, MB)],
  ['names that end in the name', repeatTo('', `x${NAME}=1; `, MB)],
  ['the name inside one huge value', repeatTo('a=', NAME, MB)],
  ['blanks around the name', repeatTo('', `   ${NAME}   `, MB)],
  ['the cookie, then blanks', `${NAME}=${TEST_TOKEN}${' '.repeat(MB)}`],
];

describe('the cookie scan', () => {
  it.each(HOSTILE_SHAPES)('does linear work on a 1 MB header: %s', (_shape, header) => {
    const { work } = countWork(() => readCookie(header, NAME));
    expect(work).toBeLessThanOrEqual(4 * header.length);
  });

  it('does linear work on any repeated hostile chunk', () => {
    const pieces = fc.constantFrom(';', '=', ' ', '\t', 'x', '%', NAME, `${NAME}=`, `${NAME}X`);
    fc.assert(
      fc.property(fc.array(pieces, { minLength: 1, maxLength: 6 }), (chunk) => {
        const header = repeatTo('', chunk.join(''), 64 * 1024);
        const { work } = countWork(() => readCookie(header, NAME));
        expect(work).toBeLessThanOrEqual(4 * header.length);
      }),
      { numRuns: 200 },
    );
  });

  it('costs one substring search when the name is absent', () => {
    const header = `connect.sid=s%3Aabc.def; ${'_ga=GA1.2.3; '.repeat(20)}sovReq=1`;
    const { result, work } = countWork(() => readCookie(header, NAME));
    expect(result).toEqual({ found: false });
    expect(work).toBeLessThanOrEqual(header.length);
  });

  it.each([
    [`${NAME}=${TEST_TOKEN}`, { found: true, ok: true, value: TEST_TOKEN }],
    [`a=1;${NAME} = ${TEST_TOKEN} ;b=2`, { found: true, ok: true, value: TEST_TOKEN }],
    [`${NAME}=12345%2Dtest`, { found: true, ok: true, value: '12345-test' }],
    [`${NAME}=a+b`, { found: true, ok: true, value: 'a+b' }],
    [`${NAME}=%E0%A4%A`, { found: true, ok: false }],
    [`${NAME}=a; ${NAME}=b`, { found: true, ok: false, problem: 'the cookie is repeated' }],
    [`x${NAME}=a; ${NAME}X=b; c=${NAME}`, { found: false }],
    [NAME, { found: false }],
  ])('reads %j', (header, expected) => {
    expect(readCookie(header, NAME)).toMatchObject(expected);
  });

  it('finds nothing without a Cookie header', () => {
    expect(readCookie(undefined, NAME)).toEqual({ found: false });
  });
});
