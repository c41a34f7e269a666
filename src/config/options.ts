import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { SovendusConfigError } from '../errors.js';
import type { DeliveryQueue } from '../queue/delivery-queue.js';
import type { SovendusLogger, SovendusOptions, TokenStore } from '../types.js';
import {
  apiBaseUrlField,
  apiKeyField,
  attemptsField,
  breakerTimeoutsField,
  coolDownMsField,
  DEFAULTS,
  delayMsField,
  describeIssues,
  PRODUCT_ID_RULE,
  isProductId,
  maxPendingCallsField,
  missingSettings,
  queryParamField,
  sendLimitMsField,
  storeTimeoutMsField,
  timeoutMsField,
  trafficMediumPublicIdField,
  trafficSourceNumberField,
  ttlSecondsField,
} from './fields.js';

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
    apiKey: apiKeyField.optional(),
    coupons: z
      .object(
        {
          trafficSourceNumber: trafficSourceNumberField,
          trafficMediumPublicId: trafficMediumPublicIdField.optional(),
          apiBaseUrl: apiBaseUrlField.default(DEFAULTS.couponApiBaseUrl),
        },
        { error: 'must be an object { trafficSourceNumber, trafficMediumPublicId?, apiBaseUrl? }' },
      )
      .strict()
      .optional(),
    store: storeField.optional(),
    apiBaseUrl: apiBaseUrlField.default(DEFAULTS.apiBaseUrl),
    ttlSeconds: ttlSecondsField.default(DEFAULTS.ttlSeconds),
    timeoutMs: timeoutMsField.default(DEFAULTS.timeoutMs),
    sendLimitMs: sendLimitMsField.default(DEFAULTS.sendLimitMs),
    storeTimeoutMs: storeTimeoutMsField.default(DEFAULTS.storeTimeoutMs),
    storeBreaker: z
      .object(
        {
          timeouts: breakerTimeoutsField.default(DEFAULTS.storeBreaker.timeouts),
          coolDownMs: coolDownMsField.default(DEFAULTS.storeBreaker.coolDownMs),
          maxPendingCalls: maxPendingCallsField.default(DEFAULTS.storeBreaker.maxPendingCalls),
        },
        { error: 'must be an object { timeouts?, coolDownMs?, maxPendingCalls? }' },
      )
      .strict()
      .default(DEFAULTS.storeBreaker),
    retry: z
      .object({
        attempts: attemptsField.default(DEFAULTS.retry.attempts),
        minDelayMs: delayMsField.default(DEFAULTS.retry.minDelayMs),
        maxDelayMs: delayMsField.default(DEFAULTS.retry.maxDelayMs),
      })
      .strict()
      .refine((retry) => retry.minDelayMs <= retry.maxDelayMs, {
        error: 'minDelayMs must not exceed maxDelayMs',
      })
      .default(DEFAULTS.retry),
    queryParam: queryParamField.default(DEFAULTS.queryParam),
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
    worker: z.boolean({ error: 'must be true or false' }).default(true),
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
