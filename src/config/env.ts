import { z } from 'zod';
import { SovendusConfigError } from '../errors.js';
import type { CouponOptions } from '../types.js';
import {
  apiBaseUrlField,
  apiKeyField,
  attemptsField,
  describeIssues,
  missingSettings,
  productIdField,
  queryParamField,
  redisUrlField,
  storeTimeoutMsField,
  timeoutMsField,
  trafficMediumPublicIdField,
  trafficSourceNumberText,
  ttlSecondsField,
} from './fields.js';

/** The environment variables `loadSovendusConfig` reads, by the setting they fill. */
export const ENV_VARS = {
  productId: 'SOVENDUS_PRODUCT_ID',
  apiKey: 'SOVENDUS_API_KEY',
  apiBaseUrl: 'SOVENDUS_API_BASE_URL',
  ttlSeconds: 'SOVENDUS_TTL_SECONDS',
  timeoutMs: 'SOVENDUS_TIMEOUT_MS',
  storeTimeoutMs: 'SOVENDUS_STORE_TIMEOUT_MS',
  retryAttempts: 'SOVENDUS_RETRY_ATTEMPTS',
  queryParam: 'SOVENDUS_QUERY_PARAM',
  redisUrl: 'REDIS_URL',
  couponTrafficSourceNumber: 'SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER',
  couponTrafficMediumPublicId: 'SOVENDUS_COUPON_TRAFFIC_MEDIUM_PUBLIC_ID',
  couponApiBaseUrl: 'SOVENDUS_COUPON_API_BASE_URL',
} as const;

/** What {@link loadSovendusConfig} returns: options for `createSovendus`, and where Redis is. */
export interface SovendusEnvConfig {
  /** With `apiKey`, for conversions; a coupon-only shop sets neither. */
  productId?: string | undefined;
  apiKey?: string | undefined;
  apiBaseUrl?: string | undefined;
  ttlSeconds?: number | undefined;
  timeoutMs?: number | undefined;
  storeTimeoutMs?: number | undefined;
  retry?: { attempts: number } | undefined;
  queryParam?: string | undefined;
  /** `REDIS_URL`: connect a `RedisTokenStore` to it; when unset, the memory store is used. */
  redisUrl?: string | undefined;
  /** Set when `SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER` is. */
  coupons?: CouponOptions | undefined;
}

// Environment values are strings; an empty one means "not set", as in most .env tooling.
const text = z.preprocess((value) => (value === '' ? undefined : value), z.string().optional());
const optional = <Out>(field: z.ZodType<Out, string>) => text.pipe(field.optional());
const optionalNumber = (field: z.ZodType<number, number>) =>
  text.pipe(z.coerce.number<string>({ error: 'must be a number' }).pipe(field).optional());

const envSchema = z.object({
  [ENV_VARS.productId]: optional(productIdField),
  [ENV_VARS.apiKey]: optional(apiKeyField),
  [ENV_VARS.apiBaseUrl]: optional(apiBaseUrlField),
  [ENV_VARS.ttlSeconds]: optionalNumber(ttlSecondsField),
  [ENV_VARS.timeoutMs]: optionalNumber(timeoutMsField),
  [ENV_VARS.storeTimeoutMs]: optionalNumber(storeTimeoutMsField),
  [ENV_VARS.retryAttempts]: optionalNumber(attemptsField),
  [ENV_VARS.queryParam]: optional(queryParamField),
  [ENV_VARS.redisUrl]: optional(redisUrlField),
  [ENV_VARS.couponTrafficSourceNumber]: optional(trafficSourceNumberText),
  [ENV_VARS.couponTrafficMediumPublicId]: optional(trafficMediumPublicIdField),
  [ENV_VARS.couponApiBaseUrl]: optional(apiBaseUrlField),
});

/**
 * Reads and validates the Sovendus settings from the environment. Throws a
 * `SovendusConfigError` that names every variable that is missing or wrong (never its value,
 * for the API key).
 */
export function loadSovendusConfig(
  env: Record<string, string | undefined> = process.env,
): SovendusEnvConfig {
  const isSet = (name: string) => (env[name] ?? '') !== '';
  const missing = missingSettings({
    productId: isSet(ENV_VARS.productId),
    apiKey: isSet(ENV_VARS.apiKey),
    coupons: isSet(ENV_VARS.couponTrafficSourceNumber),
  }).map(({ setting, message }) => {
    const names = setting
      ? ENV_VARS[setting]
      : `${ENV_VARS.productId} + ${ENV_VARS.apiKey}, or ${ENV_VARS.couponTrafficSourceNumber}`;
    return `  - ${names}: ${message}`;
  });
  const parsed = envSchema.safeParse(env);
  if (!parsed.success || missing.length > 0) {
    const invalid = parsed.success
      ? []
      : [describeIssues(parsed.error.issues, (path) => String(path[0]))];
    throw new SovendusConfigError(
      `Invalid Sovendus environment:\n${[...invalid, ...missing].join('\n')}`,
    );
  }
  const values = parsed.data;
  const trafficSourceNumber = values[ENV_VARS.couponTrafficSourceNumber];
  const attempts = values[ENV_VARS.retryAttempts];
  return {
    productId: values[ENV_VARS.productId],
    apiKey: values[ENV_VARS.apiKey],
    apiBaseUrl: values[ENV_VARS.apiBaseUrl],
    ttlSeconds: values[ENV_VARS.ttlSeconds],
    timeoutMs: values[ENV_VARS.timeoutMs],
    storeTimeoutMs: values[ENV_VARS.storeTimeoutMs],
    retry: attempts === undefined ? undefined : { attempts },
    queryParam: values[ENV_VARS.queryParam],
    redisUrl: values[ENV_VARS.redisUrl],
    coupons:
      trafficSourceNumber === undefined
        ? undefined
        : {
            trafficSourceNumber,
            trafficMediumPublicId: values[ENV_VARS.couponTrafficMediumPublicId],
            apiBaseUrl: values[ENV_VARS.couponApiBaseUrl],
          },
  };
}
