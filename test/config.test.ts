import {
  createSovendus,
  loadSovendusConfig,
  MemoryTokenStore,
  type SovendusOptions,
} from '../src/index.js';
import { API_KEY, PRODUCT_ID } from './support/shop.js';
import { configError } from './support/config-error.js';

const valid: SovendusOptions = { productId: PRODUCT_ID, apiKey: API_KEY };

describe('createSovendus options', () => {
  it('accepts the minimal options and a product id function', () => {
    expect(() => createSovendus(valid)).not.toThrow();
    expect(() => createSovendus({ ...valid, productId: () => PRODUCT_ID })).not.toThrow();
  });

  it('names every bad option and what is wrong with it', () => {
    const error = configError(() =>
      createSovendus({
        productId: 'not-a-uuid',
        apiKey: '',
        timeoutMs: -1,
        retry: { attempts: 0 },
        apiBaseUrl: 'ftp://example.com',
        queryParam: 'a b',
        store: {} as never,
      }),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.retryable).toBe(false);
    for (const name of [
      'productId: must be a UUID',
      'apiKey: is required',
      'timeoutMs: must be at least 1',
      'retry.attempts: must be at least 1',
      'apiBaseUrl: must be an http(s) URL',
      'queryParam:',
      'store: must implement the TokenStore interface',
    ]) {
      expect(error.message).toContain(name);
    }
  });

  it('catches misspelled options instead of ignoring them', () => {
    const error = configError(() => createSovendus({ ...valid, tiemoutMs: 5 } as SovendusOptions));
    expect(error.message).toContain('tiemoutMs');
  });

  it('rejects a backoff whose minimum exceeds its maximum', () => {
    const error = configError(() =>
      createSovendus({ ...valid, retry: { minDelayMs: 500, maxDelayMs: 100 } }),
    );
    expect(error.message).toContain('minDelayMs must not exceed maxDelayMs');
  });

  it('names each bad store breaker setting, and a misspelled one', () => {
    const error = configError(() =>
      createSovendus({
        ...valid,
        storeBreaker: { timeouts: 0, coolDownMs: 1.5, maxPendingCalls: -1 },
      }),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    for (const name of [
      'storeBreaker.timeouts: must be at least 1',
      'storeBreaker.coolDownMs: must be a whole number',
      'storeBreaker.maxPendingCalls: must be at least 1',
    ]) {
      expect(error.message).toContain(name);
    }
    const typo = configError(() =>
      createSovendus({ ...valid, storeBreaker: { coolDown: 5 } as never }),
    );
    expect(typo.message).toContain('coolDown');
  });

  it('never quotes the API key back, even when it is malformed', () => {
    const secret = 'my secret key with spaces';
    const error = configError(() => createSovendus({ ...valid, apiKey: secret }));
    expect(error.message).toContain('apiKey:');
    expect(error.message).not.toContain(secret);
  });

  it('warns once, through the logger, when the memory store is used in production', () => {
    const warnings: string[] = [];
    const logger = { warn: (_fields: object, message: string) => warnings.push(message) };
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      createSovendus({ ...valid, store: new MemoryTokenStore(), logger });
      createSovendus({ ...valid, logger });
    } finally {
      process.env.NODE_ENV = previous;
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('in-memory token store is used in production');
  });
});

describe('loadSovendusConfig', () => {
  const env = { SOVENDUS_PRODUCT_ID: PRODUCT_ID, SOVENDUS_API_KEY: API_KEY };

  it('reads the required settings and leaves the rest to the defaults', () => {
    expect(loadSovendusConfig(env)).toEqual({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      apiBaseUrl: undefined,
      ttlSeconds: undefined,
      timeoutMs: undefined,
      storeTimeoutMs: undefined,
      sendLimitMs: undefined,
      retry: undefined,
      queryParam: undefined,
      redisUrl: undefined,
    });
  });

  it('reads every optional setting, numbers included', () => {
    const config = loadSovendusConfig({
      ...env,
      SOVENDUS_API_BASE_URL: 'http://127.0.0.1:9999/',
      SOVENDUS_TTL_SECONDS: '86400',
      SOVENDUS_TIMEOUT_MS: '1500',
      SOVENDUS_STORE_TIMEOUT_MS: '100',
      SOVENDUS_SEND_LIMIT_MS: '20000',
      SOVENDUS_RETRY_ATTEMPTS: '5',
      SOVENDUS_QUERY_PARAM: 'ref',
      REDIS_URL: 'redis://127.0.0.1:6379/2',
    });
    expect(config).toMatchObject({
      apiBaseUrl: 'http://127.0.0.1:9999',
      ttlSeconds: 86_400,
      timeoutMs: 1_500,
      storeTimeoutMs: 100,
      sendLimitMs: 20_000,
      retry: { attempts: 5 },
      queryParam: 'ref',
      redisUrl: 'redis://127.0.0.1:6379/2',
    });
    const { redisUrl, ...options } = config;
    expect(redisUrl).toBeDefined();
    expect(() => createSovendus(options)).not.toThrow();
  });

  it('reads SOVENDUS_TELEMETRY as true or false, and nothing else', () => {
    expect(loadSovendusConfig({ ...env, SOVENDUS_TELEMETRY: 'false' }).telemetry).toBe(false);
    expect(loadSovendusConfig({ ...env, SOVENDUS_TELEMETRY: 'true' }).telemetry).toBe(true);
    expect(loadSovendusConfig({ ...env, SOVENDUS_TELEMETRY: '' }).telemetry).toBeUndefined();
    for (const word of ['0', 'no', 'FALSE', ' false']) {
      const error = configError(() => loadSovendusConfig({ ...env, SOVENDUS_TELEMETRY: word }));
      expect(error.message).toContain('SOVENDUS_TELEMETRY: must be true or false');
    }
  });

  it('names each missing or malformed variable, and never echoes the key', () => {
    const error = configError(() =>
      loadSovendusConfig({
        SOVENDUS_PRODUCT_ID: 'abc',
        SOVENDUS_API_KEY: 'secret key!',
        SOVENDUS_TIMEOUT_MS: 'soon',
        REDIS_URL: 'localhost:6379',
      }),
    );
    expect(error.message).toContain('SOVENDUS_PRODUCT_ID: must be a UUID');
    expect(error.message).toContain('SOVENDUS_API_KEY: may contain only');
    expect(error.message).toContain('SOVENDUS_TIMEOUT_MS: must be a number');
    expect(error.message).toContain('REDIS_URL: must be a redis://');
    expect(error.message).not.toContain('secret key!');
  });

  it('treats empty variables as unset, and says which settings a shop needs', () => {
    const error = configError(() => loadSovendusConfig({ SOVENDUS_PRODUCT_ID: '' }));
    expect(error.message).toContain(
      'SOVENDUS_PRODUCT_ID + SOVENDUS_API_KEY, or SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER',
    );
  });

  it('names the half of the conversion settings that is missing', () => {
    const error = configError(() => loadSovendusConfig({ SOVENDUS_API_KEY: 'KEY-1' }));
    expect(error.message).toContain('SOVENDUS_PRODUCT_ID: is required for conversions');
  });

  it('reads the coupon settings, which are enough on their own', () => {
    const config = loadSovendusConfig({
      SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER: ' 1234 ',
      SOVENDUS_COUPON_TRAFFIC_MEDIUM_PUBLIC_ID: 'e59c9966-f9ad-477b-8df8-826fb9a690f7',
      SOVENDUS_COUPON_API_BASE_URL: 'http://127.0.0.1:9/',
    });
    expect(config).toMatchObject({
      productId: undefined,
      apiKey: undefined,
      coupons: {
        trafficSourceNumber: '1234',
        trafficMediumPublicId: 'e59c9966-f9ad-477b-8df8-826fb9a690f7',
        apiBaseUrl: 'http://127.0.0.1:9',
      },
    });
  });

  it('reads SOVENDUS_PRODUCT_IDS, comma-separated, as productIds', () => {
    const other = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    const config = loadSovendusConfig({
      ...env,
      SOVENDUS_PRODUCT_IDS: ` ${PRODUCT_ID}, ${other} `,
    });
    expect(config.productIds).toEqual([PRODUCT_ID, other]);
    const { redisUrl, ...options } = config;
    expect(redisUrl).toBeUndefined();
    expect(() => createSovendus(options)).not.toThrow();
    expect(loadSovendusConfig({ ...env, SOVENDUS_PRODUCT_IDS: '' }).productIds).toBeUndefined();
  });

  it.each([
    ['one that is not a UUID', `${PRODUCT_ID},abc`],
    ['an empty one', `${PRODUCT_ID},,`],
    ['the API key', API_KEY],
  ])('refuses SOVENDUS_PRODUCT_IDS with %s, as SOVENDUS_PRODUCT_ID', (_, value) => {
    const error = configError(() => loadSovendusConfig({ ...env, SOVENDUS_PRODUCT_IDS: value }));
    expect(error.message).toContain('SOVENDUS_PRODUCT_IDS: must be a UUID');
    expect(error.message).not.toContain(API_KEY);
  });

  it('refuses a traffic source number that is not a whole number', () => {
    const error = configError(() =>
      loadSovendusConfig({ SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER: '12.5' }),
    );
    expect(error.message).toContain('SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER: must be a positive');
  });
});
