import type { z } from 'zod';
import {
  apiBaseUrlField,
  apiKeyField,
  browserCookieField,
  attemptsField,
  breakerTimeoutsField,
  coolDownMsField,
  delayMsField,
  maxPendingCallsField,
  productIdField,
  productIdsField,
  queryParamField,
  redisUrlField,
  sendLimitMsField,
  storeTimeoutMsField,
  telemetryField,
  timeoutMsField,
  trafficMediumPublicIdField,
  trafficSourceNumberField,
  ttlSecondsField,
  workerField,
} from './fields.js';

/*
 * The one table of settings. The options schema takes its defaults from it, the environment
 * loader its variables, `doctor` its list and masks, and scripts/options-table.mjs the docs'
 * rows (README, docs/api.md); test/settings-docs.test.ts holds .env.example and the docs'
 * environment table to it. What each option does is its TSDoc in src/types.ts, which the docs
 * generator reads: it is not said twice here.
 */

/**
 * How `doctor` may print a variable's value: `as is`; `secret`, masked to its last 4
 * characters and cut out of every line of the report; `uuid`, as is when it is a UUID, else
 * as a secret (the likeliest other value is the API key, set in the wrong variable); `url`,
 * with its credentials masked and cut out of every line; `uuids`, a comma-separated list, each
 * shown as a `uuid` is.
 */
export type Shown = 'as is' | 'secret' | 'uuid' | 'uuids' | 'url';

/** What every setting has. */
interface SettingBase {
  /** The rule a value must follow, shared by the options schema and the environment loader. */
  readonly rule: z.ZodType;
  /** The value used when the setting is not given; none when there is no such value. */
  readonly default?: string | number | boolean;
  /** The environment variable `loadSovendusConfig` reads it from, when there is one. */
  readonly env?: string;
  /** How `doctor` prints the variable (default `as is`). */
  readonly shown?: Shown;
  /** What it means when the variable is not set and there is no default, as `doctor` says. */
  readonly whenUnset?: string;
  /** When the setting is required, in words: the docs' default cell. */
  readonly required?: string;
}

/** A setting that is an option of `createSovendus`: its TSDoc in src/types.ts says the rest. */
export interface OptionSetting extends SettingBase {
  /** Its path in `SovendusOptions`, such as `retry.attempts`. */
  readonly option: string;
}

/** A setting read from the environment that is no option: `loadSovendusConfig` returns it. */
export interface ReturnedSetting extends SettingBase {
  /** Always set: such a setting exists only in the environment. */
  readonly env: string;
  /** What it is for, in one line for the docs' environment table. */
  readonly doc: string;
}

/** One row of {@link SETTINGS}. */
export type Setting = OptionSetting | ReturnedSetting;

/**
 * Every setting, by the name `SovendusEnvConfig` gives it (or would: `retryAttempts` fills
 * `retry.attempts`). The order is `doctor`'s and the docs' environment table's.
 */
export const SETTINGS = {
  // The option may also be a function (req) => productId: options.ts widens this rule.
  productId: {
    option: 'productId',
    env: 'SOVENDUS_PRODUCT_ID',
    rule: productIdField,
    shown: 'uuid',
    required: 'required for conversions',
  },
  // A list: the environment's is comma-separated (env.ts splits it).
  productIds: {
    option: 'productIds',
    env: 'SOVENDUS_PRODUCT_IDS',
    rule: productIdsField,
    shown: 'uuids',
  },
  apiKey: {
    option: 'apiKey',
    env: 'SOVENDUS_API_KEY',
    rule: apiKeyField,
    shown: 'secret',
    required: 'required for conversions',
  },
  apiBaseUrl: {
    option: 'apiBaseUrl',
    env: 'SOVENDUS_API_BASE_URL',
    rule: apiBaseUrlField,
    default: 'https://press-order-api.sovendus.com',
    shown: 'url',
  },
  ttlSeconds: {
    option: 'ttlSeconds',
    env: 'SOVENDUS_TTL_SECONDS',
    rule: ttlSecondsField,
    default: 2_592_000,
  },
  timeoutMs: {
    option: 'timeoutMs',
    env: 'SOVENDUS_TIMEOUT_MS',
    rule: timeoutMsField,
    default: 2_000,
  },
  storeTimeoutMs: {
    option: 'storeTimeoutMs',
    env: 'SOVENDUS_STORE_TIMEOUT_MS',
    rule: storeTimeoutMsField,
    default: 250,
  },
  sendLimitMs: {
    option: 'sendLimitMs',
    env: 'SOVENDUS_SEND_LIMIT_MS',
    rule: sendLimitMsField,
    default: 30_000,
  },
  retryAttempts: {
    option: 'retry.attempts',
    env: 'SOVENDUS_RETRY_ATTEMPTS',
    rule: attemptsField,
    default: 3,
  },
  retryMinDelayMs: { option: 'retry.minDelayMs', rule: delayMsField, default: 100 },
  retryMaxDelayMs: { option: 'retry.maxDelayMs', rule: delayMsField, default: 1_000 },
  breakerTimeouts: { option: 'storeBreaker.timeouts', rule: breakerTimeoutsField, default: 5 },
  breakerCoolDownMs: { option: 'storeBreaker.coolDownMs', rule: coolDownMsField, default: 1_000 },
  breakerMaxPendingCalls: {
    option: 'storeBreaker.maxPendingCalls',
    rule: maxPendingCallsField,
    default: 1_000,
  },
  queryParam: {
    option: 'queryParam',
    env: 'SOVENDUS_QUERY_PARAM',
    rule: queryParamField,
    default: 'sovReqToken',
  },
  browserCookie: { option: 'browserCookie', rule: browserCookieField, default: true },
  worker: {
    option: 'worker',
    rule: workerField,
    default: true,
  },
  telemetry: {
    option: 'telemetry',
    env: 'SOVENDUS_TELEMETRY',
    rule: telemetryField,
    default: true,
  },
  redisUrl: {
    env: 'REDIS_URL',
    rule: redisUrlField,
    shown: 'url',
    whenUnset: 'memory store',
    doc: 'Returned as `redisUrl`, for your `RedisTokenStore`; `doctor`, `worker`, `dead` and `stats` connect to it.',
  },
  couponTrafficSourceNumber: {
    option: 'coupons.trafficSourceNumber',
    env: 'SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER',
    rule: trafficSourceNumberField,
    whenUnset: 'no coupon redemption',
  },
  couponTrafficMediumPublicId: {
    option: 'coupons.trafficMediumPublicId',
    env: 'SOVENDUS_COUPON_TRAFFIC_MEDIUM_PUBLIC_ID',
    rule: trafficMediumPublicIdField,
    shown: 'uuid',
  },
  couponApiBaseUrl: {
    option: 'coupons.apiBaseUrl',
    env: 'SOVENDUS_COUPON_API_BASE_URL',
    rule: apiBaseUrlField,
    default: 'https://coupon-api.sovendus.com',
    shown: 'url',
  },
} as const satisfies Record<string, Setting>;

/** The name of a setting in {@link SETTINGS}. */
export type SettingName = keyof typeof SETTINGS;

/** The name of a setting read from the environment. */
export type EnvSettingName = {
  [Name in SettingName]: (typeof SETTINGS)[Name] extends { env: string } ? Name : never;
}[SettingName];

/** A setting read from the environment, with its name. */
export type EnvSetting = Setting & { readonly name: EnvSettingName; readonly env: string };

/** The settings read from the environment, in the table's order. */
export const ENV_SETTINGS: readonly EnvSetting[] = (
  Object.entries(SETTINGS) as [SettingName, Setting][]
).flatMap(([name, setting]) =>
  setting.env === undefined ? [] : [{ ...setting, name: name as EnvSettingName, env: setting.env }],
);
