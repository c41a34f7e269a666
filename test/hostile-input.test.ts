import fc from 'fast-check';
import request from 'supertest';
import { MemoryTokenStore, type StoredToken } from '../src/index.js';
import { readQueryToken } from '../src/capture/query.js';
import { conversionUrl } from '../src/conversion/conversion-api.js';
import { checkToken, MAX_TOKEN_LENGTH } from '../src/token.js';
import { createShop } from './support/shop.js';

/**
 * Properties over hostile input: whatever a visitor puts in a URL, the capture never throws,
 * never accepts a value outside the token grammar, and no accepted token can move the API call
 * off `/ext/{productId}/{token}/api` on the configured host.
 */
const NAME = 'sovReqToken';
const BASE = 'https://press-order-api.sovendus.com';
const PRODUCT = '9bc72425-902c-3abf-9db8-8b186d7cb160';
const VALID = /^[A-Za-z0-9_-]{1,128}$/;

// Pieces that break naive parsers: separators, encodings, brackets, dots, unicode, NUL.
const nasty = fc.constantFrom(
  '&',
  '=',
  '?',
  '#',
  '/',
  '\\',
  '..',
  '.',
  '%',
  '%2F',
  '%2f',
  '%00',
  '%E0%A4%A',
  '+',
  ' ',
  '[',
  ']',
  '[]',
  '%5B',
  '%5D',
  'undefined',
  'null',
  NAME,
  `${NAME}=`,
  '\u0000',
  'é',
  '🙂',
  '\r\n',
);
const piece = fc.oneof(
  fc.string({ maxLength: 12 }),
  nasty,
  fc.stringMatching(/^[A-Za-z0-9_-]{1,30}$/),
);
const hostileText = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(''));
const hostileUrl = fc
  .tuple(hostileText, hostileText, hostileText)
  .map(([path, before, after]) => `/${path}?${before}&${NAME}=${after}`);

describe('hostile input', () => {
  it('never throws, and accepts only values of the token grammar', () => {
    fc.assert(
      fc.property(fc.oneof(hostileUrl, hostileText), (url) => {
        const result = readQueryToken(url, NAME);
        if (result.found && result.ok) expect(result.token).toMatch(VALID);
      }),
      { numRuns: 5_000 },
    );
  });

  it('rejects repeated and nested parameters whatever their values', () => {
    fc.assert(
      fc.property(hostileText, hostileText, (first, second) => {
        expect(readQueryToken(`/?${NAME}=${first}&${NAME}=${second}`, NAME)).toMatchObject({
          found: true,
          ok: false,
        });
        expect(readQueryToken(`/?${NAME}[${first}]=${second}`, NAME)).toMatchObject({
          found: true,
          ok: false,
        });
      }),
    );
  });

  it('validates any value exactly as the grammar says', () => {
    fc.assert(
      fc.property(
        fc.oneof(hostileText, fc.string({ maxLength: MAX_TOKEN_LENGTH + 20 })),
        (value) => {
          const accepted = checkToken(value).ok;
          const placeholder = ['undefined', 'null'].includes(value.toLowerCase());
          expect(accepted).toBe(VALID.test(value) && !placeholder);
        },
      ),
    );
  });

  it('keeps every call on the configured host and path, whatever the token', () => {
    fc.assert(
      fc.property(
        fc.oneof(hostileText, fc.string(), fc.constantFrom('.', '..', '%2e')),
        (token) => {
          // Encoding alone cannot make "." or ".." safe in a path: URL parsers resolve them (and
          // "%2e"). Validation is what keeps them out, so the property is about the two together.
          if (!checkToken(token).ok) return;
          const url = new URL(conversionUrl(BASE, PRODUCT, token));
          expect(url.origin).toBe(BASE);
          expect(url.search).toBe('');
          expect(url.hash).toBe('');
          const segments = url.pathname.split('/');
          expect(segments).toHaveLength(5);
          expect(segments.slice(0, 3)).toEqual(['', 'ext', PRODUCT]);
          expect(segments[4]).toBe('api');
          expect(decodeURIComponent(segments[3] ?? '')).toBe(token);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('hostile URLs through a real shop', () => {
  const saved: string[] = [];
  class RecordingStore extends MemoryTokenStore {
    override saveToken(key: string, entry: StoredToken, ttl: number) {
      saved.push(entry.token);
      return super.saveToken(key, entry, ttl);
    }
  }
  const { app } = createShop({ store: new RecordingStore() });
  // Any printable ASCII a browser could send in a request line ('#' never reaches a server).
  const printable = fc
    .array(fc.oneof(nasty, fc.stringMatching(/^[!-~]{0,8}$/)), { maxLength: 8 })
    .map((pieces) => pieces.join('').replace(/[^!-"$-~]/g, ''));

  it('serves every request, and stores only valid tokens', async () => {
    await fc.assert(
      fc.asyncProperty(printable, printable, async (before, after) => {
        const response = await request(app).get(`/page?${before}&${NAME}=${after}`);
        expect(response.status).toBe(200);
      }),
      { numRuns: 300 },
    );
    expect(saved.length).toBeGreaterThan(0);
    for (const token of saved) expect(checkToken(token).ok).toBe(true);
  });
});
