import { z } from 'zod';
import { SovendusConfigError } from '../errors.js';
import type { CouponOptions } from '../types.js';
import { describeIssues, missingSettings } from './fields.js';
import { ENV_SETTINGS, SETTINGS, type EnvSettingName } from './settings.js';

/** What {@link loadSovendusConfig} returns: options for `createSovendus`, and where Redis is. */
export interface SovendusEnvConfig {
  /** With `apiKey`, for conversions; a coupon-only shop sets neither. */
  productId?: string | undefined;
  /** `SOVENDUS_PRODUCT_IDS`: the product ids a landing URL may name, comma-separated. */
  productIds?: string[] | undefined;
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
  /** `SOVENDUS_TELEMETRY`: `true` or `false`. */
  telemetry?: boolean | undefined;
  /** `REDIS_URL`: connect a `RedisTokenStore` to it; when unset, the memory store is used. */
  redisUrl?: string | undefined;
  /** Set when `SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER` is. */
  coupons?: CouponOptions | undefined;
}

// Environment values are strings; an empty one means "not set", as in most .env tooling.
const text = z.preprocess((value) => (value === '' ? undefined : value), z.string().optional());
const optional = (field: z.ZodType<unknown, string>) => text.pipe(field.optional());
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
/** A list, comma-separated; each item trimmed, and an empty one kept for the rule to refuse. */
const optionalList = (field: z.ZodType<unknown, string[]>) =>
  text.pipe(
    z
      .string()
      .transform((value) => value.split(',').map((item) => item.trim()))
      .pipe(field)
      .optional(),
  );

/** `true` or `false` as written: not `1`, `yes` or `TRUE`, which a typo could mean too. */
const flag = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((word) => word === 'true');
const optionalFlag = (field: z.ZodType<boolean, boolean>) => text.pipe(flag.pipe(field).optional());

/**
 * The variables, by name, each read by its setting's rule: a number from decimal digits, a
 * boolean from `true` or `false`.
 */
const envSchema = z.object(
  Object.fromEntries(
    ENV_SETTINGS.map(({ env, rule }) => {
      if (rule instanceof z.ZodNumber) return [env, optionalNumber(rule)];
      if (rule instanceof z.ZodBoolean) return [env, optionalFlag(rule)];
      if (rule instanceof z.ZodArray)
        return [env, optionalList(rule as z.ZodType<unknown, string[]>)];
      // Any other rule takes text: the table's other rules for variables all do.
      return [env, optional(rule as z.ZodType<unknown, string>)];
    }),
  ),
);

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
  const variable = (name: EnvSettingName) => SETTINGS[name].env;
  const isSet = (name: EnvSettingName) => (env[variable(name)] ?? '') !== '';
  const missing = missingSettings(
    {
      productId: isSet('productId'),
      apiKey: isSet('apiKey'),
      coupons: isSet('couponTrafficSourceNumber'),
    },
    {
      verb: 'set',
      conversions: `${variable('productId')} and ${variable('apiKey')}`,
      coupons: variable('couponTrafficSourceNumber'),
    },
  ).map(({ setting, message }) => {
    const names = setting
      ? variable(setting)
      : `${variable('productId')} + ${variable('apiKey')}, or ${variable('couponTrafficSourceNumber')}`;
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
  /** A setting's value, as its rule made it (the schema above read it with that rule). */
  const value = <Name extends EnvSettingName>(name: Name) =>
    parsed.data[variable(name)] as z.output<(typeof SETTINGS)[Name]['rule']> | undefined;
  if ((env.NODE_ENV ?? process.env.NODE_ENV) === 'production') {
    warnIfPlainHttp(variable('apiBaseUrl'), value('apiBaseUrl'), 'the API key travels');
    warnIfPlainHttp(variable('couponApiBaseUrl'), value('couponApiBaseUrl'), 'orders travel');
  }
  const trafficSourceNumber = value('couponTrafficSourceNumber');
  const attempts = value('retryAttempts');
  return {
    productId: value('productId'),
    productIds: value('productIds'),
    apiKey: value('apiKey'),
    apiBaseUrl: value('apiBaseUrl'),
    ttlSeconds: value('ttlSeconds'),
    timeoutMs: value('timeoutMs'),
    storeTimeoutMs: value('storeTimeoutMs'),
    sendLimitMs: value('sendLimitMs'),
    retry: attempts === undefined ? undefined : { attempts },
    queryParam: value('queryParam'),
    telemetry: value('telemetry'),
    redisUrl: value('redisUrl'),
    coupons:
      trafficSourceNumber === undefined
        ? undefined
        : {
            trafficSourceNumber,
            trafficMediumPublicId: value('couponTrafficMediumPublicId'),
            apiBaseUrl: value('couponApiBaseUrl'),
          },
  };
}
