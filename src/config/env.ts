import { z } from 'zod';
import { SovendusConfigError } from '../errors.js';
import {
  apiBaseUrlField,
  apiKeyField,
  attemptsField,
  describeIssues,
  productIdField,
  queryParamField,
  redisUrlField,
  storeTimeoutMsField,
  timeoutMsField,
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
} as const;

/** What {@link loadSovendusConfig} returns: options for `createSovendus`, and where Redis is. */
export interface SovendusEnvConfig {
  productId: string;
  apiKey: string;
  apiBaseUrl?: string | undefined;
  ttlSeconds?: number | undefined;
  timeoutMs?: number | undefined;
  storeTimeoutMs?: number | undefined;
  retry?: { attempts: number } | undefined;
  queryParam?: string | undefined;
  /** `REDIS_URL`: connect a `RedisTokenStore` to it; when unset, the memory store is used. */
  redisUrl?: string | undefined;
}

// Environment values are strings; an empty one means "not set", as in most .env tooling.
const text = z.preprocess((value) => (value === '' ? undefined : value), z.string().optional());
const optional = <Out>(field: z.ZodType<Out, string>) => text.pipe(field.optional());
const optionalNumber = (field: z.ZodType<number, number>) =>
  text.pipe(z.coerce.number<string>({ error: 'must be a number' }).pipe(field).optional());

const envSchema = z.object({
  [ENV_VARS.productId]: text.pipe(productIdField),
  [ENV_VARS.apiKey]: text.pipe(apiKeyField),
  [ENV_VARS.apiBaseUrl]: optional(apiBaseUrlField),
  [ENV_VARS.ttlSeconds]: optionalNumber(ttlSecondsField),
  [ENV_VARS.timeoutMs]: optionalNumber(timeoutMsField),
  [ENV_VARS.storeTimeoutMs]: optionalNumber(storeTimeoutMsField),
  [ENV_VARS.retryAttempts]: optionalNumber(attemptsField),
  [ENV_VARS.queryParam]: optional(queryParamField),
  [ENV_VARS.redisUrl]: optional(redisUrlField),
});

/**
 * Reads and validates the Sovendus settings from the environment. Throws a
 * `SovendusConfigError` that names every variable that is missing or wrong (never its value,
 * for the API key).
 */
export function loadSovendusConfig(
  env: Record<string, string | undefined> = process.env,
): SovendusEnvConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new SovendusConfigError(
      `Invalid Sovendus environment:\n${describeIssues(parsed.error.issues, (path) => String(path[0]))}`,
    );
  }
  const values = parsed.data;
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
  };
}
