import { createSovendus, type Sovendus, type SovendusOptions } from '../../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../../src/testing/index.js';
import { connectTestRedis, type TestRedis } from './redis.js';
import { API_KEY, PRODUCT_ID } from './shop.js';

/**
 * Registers a test file's hooks for the fake API (its calls forgotten before each test) and,
 * with `redis`, for this run's keys in the test Redis. Read them from the returned object
 * inside tests: they exist once `beforeAll` has run.
 */
export function useFakeApi(options: { redis?: boolean } = {}): {
  readonly api: FakeSovendusApi;
  readonly redis: TestRedis;
} {
  let api: FakeSovendusApi | undefined;
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    if (options.redis) redis = connectTestRedis();
    api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
  });
  afterAll(async () => {
    await api?.close();
    await redis?.close();
  });
  beforeEach(() => {
    api?.reset();
  });
  return {
    get api() {
      if (api === undefined) throw new Error('the fake API starts in beforeAll');
      return api;
    },
    get redis() {
      if (redis === undefined) throw new Error('pass { redis: true }; it connects in beforeAll');
      return redis;
    },
  };
}

/**
 * Makes instances on the fake API at `apiUrl()`, with `options` over the defaults, and
 * registers an `afterEach` that closes every instance its test made (or handed to `closeAfter`).
 */
export function instancesClosedAfterEach(apiUrl: () => string): {
  instanceWith: (options?: Partial<SovendusOptions>) => Sovendus;
  closeAfter: (instance: Sovendus) => Sovendus;
} {
  const opened: Sovendus[] = [];
  afterEach(() => Promise.all(opened.splice(0).map((instance) => instance.close())));
  const closeAfter = (instance: Sovendus) => {
    opened.push(instance);
    return instance;
  };
  return {
    closeAfter,
    instanceWith: (options = {}) =>
      closeAfter(
        createSovendus({
          productId: PRODUCT_ID,
          apiKey: API_KEY,
          apiBaseUrl: apiUrl(),
          ...options,
        }),
      ),
  };
}
