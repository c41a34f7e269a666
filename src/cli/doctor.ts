import { lookup } from 'node:dns/promises';
import type { Redis as RedisClient } from 'ioredis';
import { loadSovendusConfig, type SovendusEnvConfig } from '../config/env.js';
import { ENV_SETTINGS, SETTINGS, type EnvSetting } from '../config/settings.js';
import { SovendusError } from '../errors.js';
import { createSovendus } from '../sovendus.js';
import { MemoryTokenStore } from '../stores/memory-store.js';
import { maskSecrets, maskUrl, secretsOf, SHOW } from './doctor-masks.js';
import { inVariableTerms } from './doctor-wording.js';
import { quietClient, reason } from './redis-client.js';

/** One of Sovendus' documented test tokens: accepted by the API without counting a sale. */
export const TEST_TOKEN = '12345-test-123-12345';

/** The code of a test redemption: Sovendus decides whether a code is one of theirs, and this is not. */
export const TEST_COUPON_CODE = 'SOVENDUS-EXPRESS-TEST';

export interface DoctorCheck {
  name:
    | 'configuration'
    | 'redis'
    | 'queue'
    | 'api host'
    | 'coupon api host'
    | 'test conversion'
    | 'test redemption';
  ok: boolean;
  message: string;
}

export interface DoctorReport {
  ok: boolean;
  /**
   * Each setting as it may be shown: the API key masked to its last 4 characters, credentials
   * in URLs masked, and a UUID setting that is not a UUID masked like the key.
   */
  settings: Record<string, string>;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  env: Record<string, string | undefined>;
  sendTest: boolean;
}

/** A variable as shown: masked as the table says when set, else its default, else unset. */
function shown(setting: EnvSetting, value: string | undefined): string {
  if (value !== undefined && value !== '') return SHOW[setting.shown ?? 'as is'](value);
  if (setting.default !== undefined) return `${setting.default} (default)`;
  return setting.whenUnset === undefined ? '(not set)' : `(not set: ${setting.whenUnset})`;
}

/** Every variable of the table of settings, in its order, as it may be shown. */
function describeSettings(env: DoctorOptions['env']): Record<string, string> {
  return Object.fromEntries(
    ENV_SETTINGS.map((setting) => [setting.env, shown(setting, env[setting.env])]),
  );
}

async function checkRedis(url: string): Promise<DoctorCheck> {
  const name = 'redis';
  let Redis: typeof RedisClient;
  try {
    // ioredis is an optional peer dependency: only needed when REDIS_URL is set.
    ({ Redis } = await import('ioredis'));
  } catch {
    return {
      name,
      ok: false,
      message: `${SETTINGS.redisUrl.env} is set, but ioredis is not installed.`,
    };
  }
  const { client, cause } = quietClient(Redis, url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    await client.ping();
    return { name, ok: true, message: `answers at ${maskUrl(url)}` };
  } catch (error) {
    return { name, ok: false, message: `no answer at ${maskUrl(url)}: ${cause(error)}` };
  } finally {
    client.disconnect();
  }
}

/** The durable queue's backlog and dead letters, when bullmq is installed (the queue is optional). */
async function checkQueue(url: string): Promise<DoctorCheck | undefined> {
  let modules;
  try {
    modules = await Promise.all([import('ioredis'), import('../queue/bullmq-queue.js')]);
  } catch {
    return undefined;
  }
  const [{ Redis }, { BullMQDeliveryQueue, DEFAULT_QUEUE_NAME }] = modules;
  const { client: connection, cause } = quietClient(Redis, url, { maxRetriesPerRequest: null });
  const queue = new BullMQDeliveryQueue({ connection });
  try {
    const [pending, dead] = await Promise.all([queue.pendingCount(), queue.deadCount()]);
    const counts = `${pending} pending, ${dead} dead in BullMQ queue "${DEFAULT_QUEUE_NAME}"`;
    return dead === 0
      ? { name: 'queue', ok: true, message: counts }
      : {
          name: 'queue',
          ok: false,
          message: `${counts}: dead deliveries ran out of retries or were refused (sovendus-express dead list shows why)`,
        };
  } catch (error) {
    return { name: 'queue', ok: false, message: `cannot read the queue: ${cause(error)}` };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

async function checkApiHost(
  name: 'api host' | 'coupon api host',
  apiBaseUrl: string,
  setting: string,
): Promise<DoctorCheck> {
  const { hostname } = new URL(apiBaseUrl);
  const host = hostname.replace(/^\[|\]$/g, '');
  try {
    const { address } = await lookup(host);
    return { name, ok: true, message: `${host} resolves to ${address}` };
  } catch (error) {
    return {
      name,
      ok: false,
      message: `${host} does not resolve (${(error as { code?: string }).code ?? reason(error)}): check DNS, or ${setting}`,
    };
  }
}

/** Sends one test delivery through a throwaway instance, and says what Sovendus answered. */
async function sendTestDelivery(
  config: SovendusEnvConfig,
  name: 'test conversion' | 'test redemption',
): Promise<DoctorCheck> {
  const { redisUrl, ...options } = config;
  // A store of its own, so the test never touches the shop's tokens or claims.
  const sovendus = createSovendus({ ...options, store: new MemoryTokenStore() });
  const result =
    name === 'test conversion'
      ? await sovendus.sendConversion({ token: TEST_TOKEN })
      : await sovendus.redeemCoupon({
          couponCode: TEST_COUPON_CODE,
          orderId: `doctor-${Date.now()}`,
        });
  await sovendus.close();
  if (result.status === 'sent') {
    const what =
      'token' in result
        ? `${TEST_TOKEN} for product ${result.productId}`
        : `a redemption of ${TEST_COUPON_CODE}`;
    return {
      name,
      ok: true,
      message: `Sovendus accepted ${what} (${result.attempts} attempt(s))`,
    };
  }
  const error = result.status === 'failed' ? result.error : undefined;
  return {
    name,
    ok: false,
    message: error
      ? `${error.code}: ${inVariableTerms(error.message, error.sovendusMessage)}`
      : `unexpected result: ${result.status}`,
  };
}

/**
 * Runs every check that applies; it never throws. Every line of the report (settings and
 * check messages, which may quote what a library answered) goes through `maskSecrets`.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const report = await check(options);
  const secrets = secretsOf(options.env);
  const mask = (text: string) => maskSecrets(text, secrets);
  return {
    ok: report.ok,
    settings: Object.fromEntries(
      Object.entries(report.settings).map(([name, value]) => [name, mask(value)]),
    ),
    checks: report.checks.map((each) => ({ ...each, message: mask(each.message) })),
  };
}

async function check({ env, sendTest }: DoctorOptions): Promise<DoctorReport> {
  const settings = describeSettings(env);
  let config: SovendusEnvConfig;
  try {
    config = loadSovendusConfig(env);
  } catch (error) {
    const message = error instanceof SovendusError ? error.message : reason(error);
    return { ok: false, settings, checks: [{ name: 'configuration', ok: false, message }] };
  }
  const checks: DoctorCheck[] = [{ name: 'configuration', ok: true, message: 'valid' }];
  if (config.redisUrl !== undefined) {
    const redis = await checkRedis(config.redisUrl);
    checks.push(redis);
    const queue = redis.ok ? await checkQueue(config.redisUrl) : undefined;
    if (queue) checks.push(queue);
  }
  const conversions = config.apiKey !== undefined;
  if (conversions) {
    const url = config.apiBaseUrl ?? SETTINGS.apiBaseUrl.default;
    checks.push(await checkApiHost('api host', url, SETTINGS.apiBaseUrl.env));
  }
  if (config.coupons) {
    const url = config.coupons.apiBaseUrl ?? SETTINGS.couponApiBaseUrl.default;
    checks.push(await checkApiHost('coupon api host', url, SETTINGS.couponApiBaseUrl.env));
  }
  if (sendTest && conversions) checks.push(await sendTestDelivery(config, 'test conversion'));
  if (sendTest && config.coupons) checks.push(await sendTestDelivery(config, 'test redemption'));
  return { ok: checks.every((check) => check.ok), settings, checks };
}

export function formatReport(report: DoctorReport): string {
  const width = Math.max(...Object.keys(report.settings).map((name) => name.length)) + 2;
  const lines = ['sovendus-express doctor', '', 'Settings'];
  for (const [name, value] of Object.entries(report.settings)) {
    lines.push(`  ${name.padEnd(width)}${value}`);
  }
  lines.push('', 'Checks');
  for (const check of report.checks) {
    const [first = '', ...rest] = check.message.split('\n');
    lines.push(
      `  ${check.ok ? '✓' : '✗'} ${check.name.padEnd(16)}${first}`,
      ...rest.map((line) => `    ${line}`),
    );
  }
  const failed = report.checks.filter((check) => !check.ok).length;
  lines.push('', failed === 0 ? 'All checks passed.' : `${failed} check(s) failed.`);
  return `${lines.join('\n')}\n`;
}
