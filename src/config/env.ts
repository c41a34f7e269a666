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
  sendLimitMsField,
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
  sendLimitMs: 'SOVENDUS_SEND_LIMIT_MS',
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
  /** `SOVENDUS_API_KEY`. */
  apiKey?: string | undefined;
  /** `SOVENDUS_API_BASE_URL`. */
  apiBaseUrl?: string | undefined;
  /** `SOVENDUS_TTL_SECONDS`. */
  ttlSeconds?: number | undefined;
  /** `SOVENDUS_TIMEOUT_MS`. */
  timeoutMs?: number | undefined;
  /** `SOVENDUS_STORE_TIMEOUT_MS`. */
  storeTimeoutMs?: number | undefined;
  /** `SOVENDUS_SEND_LIMIT_MS`. */
  sendLimitMs?: number | undefined;
  /** `SOVENDUS_RETRY_ATTEMPTS`, as `retry.attempts`. */
  retry?: { attempts: number } | undefined;
  /** `SOVENDUS_QUERY_PARAM`. */
  queryParam?: string | undefined;
  /** `REDIS_URL`: connect a `RedisTokenStore` to it; when unset, the memory store is used. */
  redisUrl?: string | undefined;
  /** Set when `SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER` is. */
  coupons?: CouponOptions | undefined;
}

// Environment values are strings; an empty one means "not set", as in most .env tooling.
const text = z.preprocess((value) => (value === '' ? undefined : value), z.string().optional());
const optional = <Out>(field: z.ZodType<Out, string>) => text.pipe(field.optional());
/**
 * Decimal digits only, unlike `Number()`, which also reads `0x7d0`, `0b101`, `1e3`, `12.0` and
 * ` 12`. A minus sign is let through so that the range check can name the problem; a value too
 * large for a number is kept too large, for the same reason.
 */
const decimal = z
  .string()
  .regex(/^-?[0-9]+$/, 'must be a number written in decimal digits, such as 2000')
  .transform((digits) =>
    Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number(digits), Number.MAX_SAFE_INTEGER)),
  );
const optionalNumber = (field: z.ZodType<number, number>) =>
  text.pipe(decimal.pipe(field).optional());

const envSchema = z.object({
  [ENV_VARS.productId]: optional(productIdField),
  [ENV_VARS.apiKey]: optional(apiKeyField),
  [ENV_VARS.apiBaseUrl]: optional(apiBaseUrlField),
  [ENV_VARS.ttlSeconds]: optionalNumber(ttlSecondsField),
  [ENV_VARS.timeoutMs]: optionalNumber(timeoutMsField),
  [ENV_VARS.storeTimeoutMs]: optionalNumber(storeTimeoutMsField),
  [ENV_VARS.sendLimitMs]: optionalNumber(sendLimitMsField),
  [ENV_VARS.retryAttempts]: optionalNumber(attemptsField),
  [ENV_VARS.queryParam]: optional(queryParamField),
  [ENV_VARS.redisUrl]: optional(redisUrlField),
  [ENV_VARS.couponTrafficSourceNumber]: optional(trafficSourceNumberText),
  [ENV_VARS.couponTrafficMediumPublicId]: optional(trafficMediumPublicIdField),
  [ENV_VARS.couponApiBaseUrl]: optional(apiBaseUrlField),
});

/**
 * A plain http:// base URL is allowed (a local fake API, a proxy on the same host), but in
 * production it is most likely a mistake: say so, as Node warnings are said, and go on.
 */
function warnIfPlainHttp(variable: string, url: string | undefined, what: string): void {
  if (url?.startsWith('http://') !== true) return;
  process.emitWarning(
    `sovendus-express: ${variable} is a plain http:// URL under NODE_ENV=production: ${what} ` +
      'unencrypted. Use https:// unless the API is reached through a trusted local proxy.',
    { type: 'SovendusWarning', code: 'SOVENDUS_INSECURE_URL' },
  );
}

/**
 * Reads and validates the Sovendus settings from the environment. Throws a
 * `SovendusConfigError` that names every variable that is missing or wrong (never its value,
 * for the API key).
 */
export function loadSovendusConfig(
  env: Record<string, string | undefined> = process.env,
): SovendusEnvConfig {
  const isSet = (name: string) => (env[name] ?? '') !== '';
  const missing = missingSettings(
    {
      productId: isSet(ENV_VARS.productId),
      apiKey: isSet(ENV_VARS.apiKey),
      coupons: isSet(ENV_VARS.couponTrafficSourceNumber),
    },
    {
      verb: 'set',
      conversions: `${ENV_VARS.productId} and ${ENV_VARS.apiKey}`,
      coupons: ENV_VARS.couponTrafficSourceNumber,
    },
  ).map(({ setting, message }) => {
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
  if ((env.NODE_ENV ?? process.env.NODE_ENV) === 'production') {
    warnIfPlainHttp(ENV_VARS.apiBaseUrl, values[ENV_VARS.apiBaseUrl], 'the API key travels');
    warnIfPlainHttp(ENV_VARS.couponApiBaseUrl, values[ENV_VARS.couponApiBaseUrl], 'orders travel');
  }
  const trafficSourceNumber = values[ENV_VARS.couponTrafficSourceNumber];
  const attempts = values[ENV_VARS.retryAttempts];
  return {
    productId: values[ENV_VARS.productId],
    apiKey: values[ENV_VARS.apiKey],
    apiBaseUrl: values[ENV_VARS.apiBaseUrl],
    ttlSeconds: values[ENV_VARS.ttlSeconds],
    timeoutMs: values[ENV_VARS.timeoutMs],
    storeTimeoutMs: values[ENV_VARS.storeTimeoutMs],
    sendLimitMs: values[ENV_VARS.sendLimitMs],
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
