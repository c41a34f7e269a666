import { z } from 'zod';

/**
 * The rules for each setting, shared by the options schema and the environment loader (through
 * the table of settings, settings.ts) so that both accept exactly the same values and say the
 * same thing about a bad one.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a product id must be, as error messages say it. */
export const PRODUCT_ID_RULE = 'must be a UUID such as 9bc72425-902c-3abf-9db8-8b186d7cb160';

/** A product id: a UUID. */
export const productIdField = z.string({ error: 'is required' }).regex(UUID, PRODUCT_ID_RULE);

/** `productIds`: a list of product ids, each a UUID. */
export const productIdsField = z.array(productIdField, {
  error: 'must be a list of product ids (UUIDs)',
});

/** The same rule as `productIdField`, without a schema's cost: it runs on every conversion. */
export const isProductId = (value: unknown): boolean =>
  typeof value === 'string' && UUID.test(value);

// The key is validated without ever quoting it back: messages name the rule, not the value.
/** An API key: 1-256 letters, digits, `-` and `_`. */
export const apiKeyField = z
  .string({ error: 'is required' })
  .min(1, 'is required')
  .max(256, 'is longer than 256 characters')
  .regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, "-" and "_"');

/** A traffic source number as text (the environment's form): digits, as Sovendus gave it. */
const trafficSourceNumberText = z
  .string()
  .trim()
  .regex(/^[1-9][0-9]{0,17}$/, 'must be a positive whole number such as 1234, as Sovendus gave it');

/** The option may be a number or a string (the environment's); it is kept as a string. */
export const trafficSourceNumberField = z
  .union([z.number().transform(String), z.string()], { error: 'must be a number such as 1234' })
  .pipe(trafficSourceNumberText);

/** A traffic medium id: a UUID. */
export const trafficMediumPublicIdField = z
  .string()
  .regex(UUID, 'must be a UUID such as e59c9966-f9ad-477b-8df8-826fb9a690f7');

/**
 * Drops trailing slashes in one pass from the end. Not `replace(/\/+$/, '')`: that regex tries
 * every slash as a start and runs to the next non-slash each time, quadratic in a long run of
 * slashes (50,000 of them took seconds).
 */
export function trimTrailingSlashes(value: string): string {
  let end = value.length;
  while (end > 0 && value.charCodeAt(end - 1) === 0x2f) end -= 1;
  return end === value.length ? value : value.slice(0, end);
}

/**
 * `http://` or `https://`, a host right after it, no query, no fragment, and a URL that parses.
 * Checked without a regular expression: the value can be long, and this runs in linear time.
 */
function isHttpUrl(value: string): boolean {
  const schemeEnd = value.startsWith('https://') ? 8 : value.startsWith('http://') ? 7 : -1;
  if (schemeEnd === -1 || schemeEnd === value.length) return false;
  const first = value.charCodeAt(schemeEnd);
  if (first === 0x2f || first === 0x3f || first === 0x23) return false; // "/", "?", "#"
  return !value.includes('?') && !value.includes('#') && URL.canParse(value);
}

/** A user name or password in the URL: a secret that would travel, and be logged, with it. */
function hasUserinfo(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { username, password } = new URL(value);
  return username !== '' || password !== '';
}

/** A base URL: http(s), no query, fragment or credentials; trailing slashes dropped. */
export const apiBaseUrlField = z
  .string()
  .refine(isHttpUrl, { error: 'must be an http(s) URL without query or fragment', abort: true })
  .refine((value) => !hasUserinfo(value), {
    error:
      'must not contain a user name or password (userinfo before "@"): Sovendus authenticates ' +
      'with the API key alone, and credentials in a URL end up in logs',
  })
  .transform(trimTrailingSlashes);

const positiveInt = (max: number) =>
  z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(max, `must be at most ${max}`);

/** `ttlSeconds`: whole seconds, at most a year. */
export const ttlSecondsField = positiveInt(365 * 24 * 3600);
/** `timeoutMs`: at most 2 minutes. */
export const timeoutMsField = positiveInt(120_000);
/** `sendLimitMs`: at most 5 minutes. */
export const sendLimitMsField = positiveInt(300_000);
/** `storeTimeoutMs`: at most a minute. */
export const storeTimeoutMsField = positiveInt(60_000);
/** `retry.attempts`: 1 to 10. */
export const attemptsField = positiveInt(10);
/** `storeBreaker.timeouts`. */
export const breakerTimeoutsField = positiveInt(1_000);
/** `storeBreaker.coolDownMs`: at most 10 minutes. */
export const coolDownMsField = positiveInt(600_000);
/** `storeBreaker.maxPendingCalls`. */
export const maxPendingCallsField = positiveInt(1_000_000);
/** `retry.minDelayMs` and `retry.maxDelayMs`: at most a minute. */
export const delayMsField = positiveInt(60_000);

/** `worker`: a boolean, not a truthy value. */
export const workerField = z.boolean({ error: 'must be true or false' });

/** `queryParam`: a name that needs no percent-encoding. */
export const queryParamField = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "." or "-"');

/** `REDIS_URL`: a redis:// or rediss:// URL. */
export const redisUrlField = z
  .string()
  .refine((value) => /^rediss?:\/\//.test(value) && URL.canParse(value), {
    error: 'must be a redis:// or rediss:// URL',
  });

/**
 * How a message about missing settings names them: by option for `createSovendus`, by variable
 * for the environment, so that no sentence mixes the two.
 */
export interface SettingWords {
  /** What the reader does: "give" options, "set" variables. */
  verb: 'give' | 'set';
  /** The product id and the API key, together. */
  conversions: string;
  /** What turns coupon redemption on. */
  coupons: string;
}

/**
 * Conversions need a product id and an API key; coupon redemption needs a traffic source
 * number; a shop wants at least one of them. Says which settings are missing, by option name
 * (`setting`), in the words of the caller (`message`).
 */
export function missingSettings(
  given: {
    productId: boolean;
    apiKey: boolean;
    coupons: boolean;
  },
  words: SettingWords,
): { setting: 'productId' | 'apiKey' | undefined; message: string }[] {
  if (given.productId || given.apiKey) {
    return (['productId', 'apiKey'] as const)
      .filter((setting) => !given[setting])
      .map((setting) => ({ setting, message: 'is required for conversions' }));
  }
  if (given.coupons) return [];
  return [
    {
      setting: undefined,
      message: `${words.verb} ${words.conversions} (conversions), ${words.coupons} (voucher codes), or both`,
    },
  ];
}

/** Turns zod issues into one message that names each setting (by `nameOf`) and what is wrong. */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  nameOf: (path: readonly PropertyKey[]) => string,
): string {
  return issues.map((issue) => `  - ${nameOf(issue.path)}: ${issue.message}`).join('\n');
}

/** `browserCookie`: a boolean too, by the same rule. */
export const browserCookieField = workerField;

/** `telemetry`: a boolean too; the environment's `true` or `false` (see env.ts). */
export const telemetryField = workerField;
