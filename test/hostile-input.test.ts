import fc from 'fast-check';
import request from 'supertest';
import { MemoryTokenStore, type StoredToken } from '../src/index.js';
import { readQueryToken } from '../src/middleware/query-token.js';
import { conversionUrl } from '../src/conversion/conversion-api.js';
import { parseRedemption } from '../src/coupons/redemption-input.js';
import { SovendusValidationError } from '../src/errors.js';
import { checkToken, MAX_TOKEN_LENGTH } from '../src/conversion/token.js';
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
        if (result.found && result.ok) expect(result.value).toMatch(VALID);
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

describe('hostile redemption input', () => {
  // Anything a checkout form, a webhook payload or a JavaScript caller could hand over.
  const anything = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.double(),
    fc.integer(),
    fc.constantFrom(undefined, null, true, {}, [], '12.34', ' eur ', 'a@b.c', Number.NaN),
  );

  it('never throws: it returns a redemption within the protocol rules, or a typed error', () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.record(
          {
            couponCode: fc.oneof(anything, fc.stringMatching(/^[A-Z0-9-]{1,12}$/)),
            orderId: anything,
            orderValue: fc.oneof(anything, fc.stringMatching(/^\d{1,4}(\.\d{1,2})?$/)),
            orderCurrency: fc.oneof(anything, fc.constantFrom('EUR', 'usd', ' Gbp ')),
            email: fc.oneof(anything, fc.emailAddress()),
          },
          { requiredKeys: ['couponCode'] },
        ),
        (input) => {
          const checked = parseRedemption(input as never);
          if (!checked.ok) {
            expect(checked.problem).toBeInstanceOf(SovendusValidationError);
            expect(checked.problem.problems.length).toBeGreaterThan(0);
            return;
          }
          const parsed = checked.value;
          expect(parsed.couponCode).toMatch(/^[!-~]{1,100}$/);
          if (parsed.orderValue !== undefined) expect(parsed.orderValue).toMatch(/^\d+\.\d{2}$/);
          if (parsed.orderCurrency !== undefined)
            expect(parsed.orderCurrency).toMatch(/^[A-Z]{3}$/);
          if (parsed.emailHash !== undefined) expect(parsed.emailHash).toMatch(/^[0-9a-f]{32}$/);
          accepted += 1;
          // What goes to Sovendus and the queue is plain data: nothing the caller passed in.
          expect(JSON.parse(JSON.stringify(parsed))).toEqual(
            Object.fromEntries(Object.entries(parsed).filter(([, value]) => value !== undefined)),
          );
        },
      ),
      { numRuns: 3_000 },
    );
    expect(accepted).toBeGreaterThan(100); // both branches were exercised
  });
});
