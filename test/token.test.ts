import { readQueryToken } from '../src/middleware/query-token.js';
import { checkToken } from '../src/conversion/token.js';
import { MAX_TOKEN_LENGTH } from '../src/index.js';

describe('token validation', () => {
  it.each([
    '12345-test-123-12345',
    '12a3b-4c5d-6e7-8f9g0',
    'XXXXX-XXXXX-XXX-XXXXX',
    '1095752fb409-457a-af14-17a09e6be522',
    'under_score',
    'a'.repeat(MAX_TOKEN_LENGTH),
  ])('accepts %s', (token) => {
    expect(checkToken(token)).toEqual({ ok: true, value: token });
  });

  it.each([
    ['', 'empty'],
    ['undefined', 'placeholder'],
    ['NULL', 'placeholder'],
    ['...', 'letters'],
    ['.', 'letters'],
    ['../../admin', 'letters'],
    ['a/b', 'letters'],
    ['a b', 'letters'],
    ['tok%2Fen', 'letters'],
    ['tökén', 'letters'],
    ['a'.repeat(MAX_TOKEN_LENGTH + 1), 'longer'],
  ])('rejects %j (%s)', (value, reason) => {
    const check = checkToken(value);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.problem).toContain(reason);
  });

  it('rejects values that are not strings', () => {
    for (const value of [undefined, null, 42, ['a'], { x: '1' }]) {
      expect(checkToken(value).ok).toBe(false);
    }
  });
});

describe('reading the token from a URL', () => {
  const read = (url: string) => readQueryToken(url, 'sovReqToken');

  it('finds nothing when the parameter is absent', () => {
    for (const url of ['/', '/page', '/?other=1', '/?sovReqTokenX=abc', '/sovReqToken']) {
      expect(read(url)).toEqual({ found: false });
    }
  });

  it('reads the parameter anywhere in the query, percent-decoded', () => {
    expect(read('/landing?a=1&sovReqToken=12345-test-123-12345&b=2')).toEqual({
      found: true,
      ok: true,
      value: '12345-test-123-12345',
    });
    expect(read('/?sovReqToken=abc%2Ddef')).toMatchObject({ ok: true, value: 'abc-def' });
  });

  it.each([
    ['/?sovReqToken=a&sovReqToken=b', 'repeated'],
    ['/?sovReqToken[x]=1', 'nested'],
    ['/?sovReqToken[]=1', 'nested'],
    ['/?sovReqToken%5Bx%5D=1', 'nested'],
    ['/?sovReqToken=%E0%A4%A', 'percent-encoding'],
    ['/?sovReqToken=', 'empty'],
    ['/?sovReqToken', 'empty'],
    ['/?sovReqToken=undefined', 'placeholder'],
    ['/?sovReqToken=a+b', 'letters'],
    ['/?sovReqToken=..%2F..%2Fadmin', 'letters'],
  ])('rejects %s (%s)', (url, reason) => {
    const result = read(url);
    expect(result).toMatchObject({ found: true, ok: false });
    expect(result.found && !result.ok && result.problem).toContain(reason);
  });

  it('honours a renamed parameter', () => {
    expect(readQueryToken('/?ref=abc', 'ref')).toMatchObject({ ok: true, value: 'abc' });
    expect(readQueryToken('/?sovReqToken=abc', 'ref')).toEqual({ found: false });
  });
});
