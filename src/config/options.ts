import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { SovendusConfigError } from '../errors.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import type { SovendusLogger, SovendusOptions, TokenStore } from '../types.js';
import { describeIssues, PRODUCT_ID_RULE, isProductId, missingSettings } from './fields.js';
import { SETTINGS } from './settings.js';

const isFunction = (value: unknown): boolean => typeof value === 'function';

const STORE_METHODS = [
  'saveToken',
  'getToken',
  'acquireClaims',
  'completeClaims',
  'releaseClaims',
] as const;

const storeField = z.custom<TokenStore>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    STORE_METHODS.every((method) => isFunction((value as Record<string, unknown>)[method])),
  { error: `must implement the TokenStore interface (${STORE_METHODS.join(', ')})` },
);

const loggerField = z.custom<SovendusLogger>(
  (value) => typeof value === 'object' && value !== null,
  { error: 'must be a pino-compatible logger object' },
);

/** A setting's rule, with the table's default filled in when the option is not given. */
const defaulted = <Rule extends z.ZodType>(setting: {
  rule: Rule;
  default: z.util.NoUndefined<z.output<Rule>>;
}) => setting.rule.default(setting.default);

const functionField = <T>(what: string) =>
  z.custom<T>(isFunction, { error: `must be a function ${what}` });

const optionsSchema = z
  .object({
    productId: z
      .custom<string | ((req: IncomingMessage) => string)>(
        (value) => isFunction(value) || isProductId(value),
        { error: `${PRODUCT_ID_RULE}, or a function (req) => productId` },
      )
      .optional(),
    productIds: SETTINGS.productIds.rule.optional(),
    consent: functionField<(req: IncomingMessage) => boolean>('(req) => boolean').optional(),
    apiKey: SETTINGS.apiKey.rule.optional(),
    coupons: z
      .object(
        {
          trafficSourceNumber: SETTINGS.couponTrafficSourceNumber.rule,
          trafficMediumPublicId: SETTINGS.couponTrafficMediumPublicId.rule.optional(),
          apiBaseUrl: defaulted(SETTINGS.couponApiBaseUrl),
        },
        { error: 'must be an object { trafficSourceNumber, trafficMediumPublicId?, apiBaseUrl? }' },
      )
      .strict()
      .optional(),
    store: storeField.optional(),
    apiBaseUrl: defaulted(SETTINGS.apiBaseUrl),
    ttlSeconds: defaulted(SETTINGS.ttlSeconds),
    timeoutMs: defaulted(SETTINGS.timeoutMs),
    sendLimitMs: defaulted(SETTINGS.sendLimitMs),
    storeTimeoutMs: defaulted(SETTINGS.storeTimeoutMs),
    // `prefault({})`: a group left out is read as an empty one, so its members' defaults apply.
    storeBreaker: z
      .object(
        {
          timeouts: defaulted(SETTINGS.breakerTimeouts),
          coolDownMs: defaulted(SETTINGS.breakerCoolDownMs),
          maxPendingCalls: defaulted(SETTINGS.breakerMaxPendingCalls),
        },
        { error: 'must be an object { timeouts?, coolDownMs?, maxPendingCalls? }' },
      )
      .strict()
      .prefault({}),
    retry: z
      .object({
        attempts: defaulted(SETTINGS.retryAttempts),
        minDelayMs: defaulted(SETTINGS.retryMinDelayMs),
        maxDelayMs: defaulted(SETTINGS.retryMaxDelayMs),
      })
      .strict()
      .refine((retry) => retry.minDelayMs <= retry.maxDelayMs, {
        error: 'minDelayMs must not exceed maxDelayMs',
      })
      .prefault({}),
    queryParam: defaulted(SETTINGS.queryParam),
    browserCookie: defaulted(SETTINGS.browserCookie),
    getSessionKey:
      functionField<(req: IncomingMessage) => string | undefined>(
        '(req) => session key',
      ).optional(),
    logger: loggerField.optional(),
    fetch: functionField<typeof globalThis.fetch>('compatible with fetch').optional(),
    queue: z
      .custom<DeliveryQueue>(
        (value) =>
          typeof value === 'object' &&
          value !== null &&
          ['enqueue', 'startWorker', 'close'].every((method) =>
            isFunction((value as Record<string, unknown>)[method]),
          ),
        { error: 'must be a delivery queue such as new BullMQDeliveryQueue({ connection })' },
      )
      .optional(),
    worker: defaulted(SETTINGS.worker),
    telemetry: defaulted(SETTINGS.telemetry),
  })
  .strict()
  .superRefine((options, context) => {
    const missing = missingSettings(
      {
        productId: options.productId !== undefined,
        apiKey: options.apiKey !== undefined,
        coupons: options.coupons !== undefined,
      },
      { verb: 'give', conversions: 'productId and apiKey', coupons: 'the coupons settings' },
    );
    for (const { setting, message } of missing) {
      context.addIssue({ code: 'custom', path: setting ? [setting] : [], message });
    }
  });

/** The options with every default filled in. Internal: it holds the API key. */
export type ResolvedOptions = z.output<typeof optionsSchema>;

/**
 * Validates options up front, like helmet does: a shop learns about a typo at start-up, not at
 * its first Sovendus visitor. `undefined` values count as "not set" so that spreading a
 * partially filled environment config works.
 */
export function resolveOptions(options: SovendusOptions): ResolvedOptions {
  // Checked at run time too: JavaScript callers get a clear error instead of a TypeError.
  if (typeof (options as unknown) !== 'object' || (options as unknown) === null) {
    throw new SovendusConfigError('sovendus-express needs an options object.');
  }
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  );
  const parsed = optionsSchema.safeParse(defined);
  if (!parsed.success) {
    throw new SovendusConfigError(
      `Invalid sovendus-express options:\n${describeIssues(parsed.error.issues, (path) => path.join('.') || 'options')}`,
    );
  }
  return parsed.data;
}
