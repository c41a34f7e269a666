import { loadSovendusConfig } from '../src/index.js';
import { resolveOptions } from '../src/config/options.js';
import { API_KEY, PRODUCT_ID } from './support/shop.js';
import { configError } from './support/config-error.js';

/**
 * Configuration comes from people and from deployment tooling: it must be read exactly, say
 * clearly what is wrong, and never take super-linear time on a long value. Work is counted,
 * not timed: the String primitives are charged what they look at, and a regular expression run
 * over the value is charged the square of its length, because a backtracking engine can take
 * that long and its work cannot be seen from outside.
 */
type Cost = (self: string, args: unknown[]) => number;

function countWork<T>(run: () => T): { result: T; work: number } {
  let work = 0;
  let counting = false;
  const restore: (() => void)[] = [];
  const patch = (target: object, name: string | symbol, cost: Cost) => {
    const slots = target as Record<string | symbol, unknown>;
    const original = slots[name] as (...a: unknown[]) => unknown;
    slots[name] = function (this: unknown, ...args: unknown[]) {
      if (!counting) {
        counting = true;
        work += cost(String(this), args);
        counting = false;
      }
      return original.apply(this, args);
    };
    restore.push(() => {
      slots[name] = original;
    });
  };
  const whole: Cost = (self) => self.length;
  for (const name of ['indexOf', 'lastIndexOf', 'includes', 'startsWith', 'endsWith', 'slice']) {
    patch(String.prototype, name, whole);
  }
  patch(String.prototype, 'charCodeAt', () => 1);
  patch(String.prototype, 'at', () => 1);
  const squared: Cost = (_self, args) => String(args[0]).length ** 2;
  patch(RegExp.prototype, 'exec', squared);
  patch(RegExp.prototype, 'test', squared);
  patch(RegExp.prototype, Symbol.replace, squared);
  patch(RegExp.prototype, Symbol.match, squared);
  try {
    return { result: run(), work };
  } finally {
    for (const undo of restore.reverse()) undo();
  }
}

const conversionEnv = { SOVENDUS_PRODUCT_ID: PRODUCT_ID, SOVENDUS_API_KEY: API_KEY };
const COUPONS = { trafficSourceNumber: '1234' };

describe('a base URL with many slashes', () => {
  // 20,000 slashes before a path segment: a trailing-slash regex backtracks over every one.
  const slashes = '/'.repeat(20_000);
  const hostile = `https://api.example${slashes}x${slashes}`;
  const trimmed = `https://api.example${slashes}x`;
  const budget = 20 * hostile.length;

  it('is trimmed with linear work (options)', () => {
    const { result, work } = countWork(() =>
      resolveOptions({
        productId: PRODUCT_ID,
        apiKey: API_KEY,
        apiBaseUrl: hostile,
        coupons: { ...COUPONS, apiBaseUrl: hostile },
      }),
    );
    expect(result.apiBaseUrl).toBe(trimmed);
    expect(result.coupons?.apiBaseUrl).toBe(trimmed);
    expect(work).toBeLessThanOrEqual(budget);
  });

  it('is trimmed with linear work (environment)', () => {
    const { result, work } = countWork(() =>
      loadSovendusConfig({
        ...conversionEnv,
        SOVENDUS_API_BASE_URL: hostile,
        SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER: '1234',
        SOVENDUS_COUPON_API_BASE_URL: hostile,
      }),
    );
    expect(result.apiBaseUrl).toBe(trimmed);
    expect(result.coupons?.apiBaseUrl).toBe(trimmed);
    expect(work).toBeLessThanOrEqual(budget);
  });

  it('is still trimmed and validated as before', () => {
    const base = (apiBaseUrl: string) =>
      resolveOptions({ productId: PRODUCT_ID, apiKey: API_KEY, apiBaseUrl }).apiBaseUrl;
    expect(base('https://api.example/')).toBe('https://api.example');
    expect(base('https://api.example///')).toBe('https://api.example');
    expect(base('http://127.0.0.1:9999/v1/')).toBe('http://127.0.0.1:9999/v1');
    for (const bad of [
      'ftp://api.example',
      'https://api.example/?x=1',
      'https://api.example/#x',
      'https://api.example?',
      'api.example',
      'https:/api.example',
      'HTTPS://api.example',
      'https://',
      'https:// api.example',
    ]) {
      expect(configError(() => base(bad)).message).toContain(
        'apiBaseUrl: must be an http(s) URL without query or fragment',
      );
    }
  });
});

describe('a base URL with a user name or password', () => {
  const withUserinfo = [
    'https://user:pass@api.example',
    'https://user@api.example',
    'https://:pass@api.example/',
  ];

  it.each(withUserinfo)('is refused in the options, without quoting it: %s', (apiBaseUrl) => {
    const error = configError(() =>
      resolveOptions({
        productId: PRODUCT_ID,
        apiKey: API_KEY,
        apiBaseUrl,
        coupons: { ...COUPONS, apiBaseUrl },
      }),
    );
    expect(error.message).toContain('apiBaseUrl: must not contain a user name or password');
    expect(error.message).toContain('coupons.apiBaseUrl: must not contain a user name');
    expect(error.message).not.toMatch(/user@|:pass/);
  });

  it.each(withUserinfo)('is refused in the environment: %s', (url) => {
    const error = configError(() =>
      loadSovendusConfig({
        ...conversionEnv,
        SOVENDUS_API_BASE_URL: url,
        SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER: '1234',
        SOVENDUS_COUPON_API_BASE_URL: url,
      }),
    );
    expect(error.message).toContain(
      'SOVENDUS_API_BASE_URL: must not contain a user name or password',
    );
    expect(error.message).toContain('SOVENDUS_COUPON_API_BASE_URL: must not contain a user name');
    expect(error.message).not.toMatch(/user@|:pass/);
  });
});

describe('numbers in the environment', () => {
  const NUMBERS = [
    'SOVENDUS_TTL_SECONDS',
    'SOVENDUS_TIMEOUT_MS',
    'SOVENDUS_STORE_TIMEOUT_MS',
    'SOVENDUS_RETRY_ATTEMPTS',
  ];

  it.each(['0x7d0', '0b101', '0o7', '1e3', ' 12', '12 ', '12abc', '12.0', '+5', 'Infinity', '٣'])(
    'refuses %j: decimal digits only',
    (value) => {
      for (const name of NUMBERS) {
        const error = configError(() => loadSovendusConfig({ ...conversionEnv, [name]: value }));
        expect(error.message).toContain(`${name}: must be a number written in decimal digits`);
      }
    },
  );

  it('reads decimal whole numbers, and says what is out of range', () => {
    expect(
      loadSovendusConfig({
        ...conversionEnv,
        SOVENDUS_TTL_SECONDS: '86400',
        SOVENDUS_TIMEOUT_MS: '02000',
        SOVENDUS_RETRY_ATTEMPTS: '3',
      }),
    ).toMatchObject({ ttlSeconds: 86_400, timeoutMs: 2_000, retry: { attempts: 3 } });
    const error = configError(() =>
      loadSovendusConfig({
        ...conversionEnv,
        SOVENDUS_RETRY_ATTEMPTS: '0',
        SOVENDUS_TIMEOUT_MS: '-5',
        SOVENDUS_STORE_TIMEOUT_MS: '9'.repeat(400),
      }),
    );
    expect(error.message).toContain('SOVENDUS_RETRY_ATTEMPTS: must be at least 1');
    expect(error.message).toContain('SOVENDUS_TIMEOUT_MS: must be at least 1');
    expect(error.message).toContain('SOVENDUS_STORE_TIMEOUT_MS: must be at most 60000');
  });
});

describe('a plain http:// base URL', () => {
  /** The process warnings `run` emits, by code and message (Node prints them on stderr). */
  function warningsOf(run: () => unknown): string[] {
    const emitted = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      run();
      return emitted.mock.calls.map(([message, options]) => {
        const code = typeof options === 'object' ? options.code : undefined;
        return `${code ?? ''}: ${String(message)}`;
      });
    } finally {
      emitted.mockRestore();
    }
  }

  const httpEnv = {
    ...conversionEnv,
    SOVENDUS_API_BASE_URL: 'http://api.example/',
    SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER: '1234',
    SOVENDUS_COUPON_API_BASE_URL: 'http://coupons.example',
  };

  it('is accepted with a warning under NODE_ENV=production, per variable', () => {
    let config: ReturnType<typeof loadSovendusConfig> | undefined;
    const warnings = warningsOf(() => {
      config = loadSovendusConfig({ ...httpEnv, NODE_ENV: 'production' });
    });
    expect(config?.apiBaseUrl).toBe('http://api.example');
    expect(warnings).toEqual([
      expect.stringMatching(
        /^SOVENDUS_INSECURE_URL: .*SOVENDUS_API_BASE_URL is a plain http:\/\/ URL/,
      ),
      expect.stringMatching(/^SOVENDUS_INSECURE_URL: .*SOVENDUS_COUPON_API_BASE_URL is a plain/),
    ]);
    expect(warnings.join('\n')).toContain('the API key travels unencrypted');
  });

  it('is accepted quietly outside production, and https never warns', () => {
    expect(warningsOf(() => loadSovendusConfig({ ...httpEnv, NODE_ENV: 'test' }))).toEqual([]);
    expect(
      warningsOf(() =>
        loadSovendusConfig({
          ...conversionEnv,
          SOVENDUS_API_BASE_URL: 'https://api.example',
          NODE_ENV: 'production',
        }),
      ),
    ).toEqual([]);
  });
});
