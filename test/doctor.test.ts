import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { testRedisUrl } from './support/redis.js';
import {
  freePort,
  hasRedisServer,
  startRedisServer,
  type RedisServer,
} from './support/redis-server.js';
import { alteredEchoes, expectNoKeyPiece } from './support/key-echoes.js';
import { API_KEY, PRODUCT_ID } from './support/shop.js';
import { byNode, byShim, runBin, type Runner } from './support/bin.js';

interface Report {
  ok: boolean;
  settings: Record<string, string>;
  checks: { name: string; ok: boolean; message: string }[];
}

let api: FakeSovendusApi;
let env: Record<string, string>;
// The doctor reads the queue under BullMQ's default keys: a Redis of the test's own, if it can.
let redisServer: RedisServer | undefined;
beforeAll(async () => {
  api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
  redisServer = hasRedisServer ? await startRedisServer() : undefined;
  env = {
    SOVENDUS_PRODUCT_ID: PRODUCT_ID,
    SOVENDUS_API_KEY: API_KEY,
    SOVENDUS_API_BASE_URL: api.url,
    REDIS_URL: redisServer?.url ?? testRedisUrl(),
  };
});
afterAll(async () => {
  await api.close();
  await redisServer?.kill();
});
beforeEach(() => {
  api.reset();
});

describe('sovendus-express doctor', () => {
  it('passes every check, and sends one test conversion, when all is well', async () => {
    const run = await runBin(['doctor', '--send-test', '--json'], env);
    const report = JSON.parse(run.stdout) as Report;
    expect(run.code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.checks.map((check) => [check.name, check.ok])).toEqual([
      ['configuration', true],
      ['redis', true],
      ['queue', true],
      ['api host', true],
      ['test conversion', true],
    ]);
    expect(api.calls.map((call) => call.token)).toEqual(['12345-test-123-12345']);
  });

  it('prints the settings with the API key masked to its last 4 characters', async () => {
    const run = await runBin(['doctor'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/SOVENDUS_API_KEY\s+••••-PQR/);
    expect(run.stdout).toMatch(/SOVENDUS_TIMEOUT_MS\s+2000 \(default\)/);
    expect(run.stdout).toMatch(/SOVENDUS_SEND_LIMIT_MS\s+30000 \(default\)/);
    expect(run.stdout).toContain('All checks passed.');
    expect(run.stdout + run.stderr).not.toContain(API_KEY);
    expect(api.calls).toHaveLength(0); // no --send-test, no call
  });

  it('fails with what to do about it when Sovendus rejects the key', async () => {
    const run = await runBin(['doctor', '--send-test'], {
      ...env,
      SOVENDUS_API_KEY: 'WRONG-KEY-1234',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('✗ test conversion INVALID_API_KEY');
    expect(run.stdout).toContain('check SOVENDUS_API_KEY.');
    expect(run.stdout).not.toContain('apiKey');
    expect(run.stdout).not.toContain('WRONG-KEY-1234');
  });

  it('shows none of the key when Sovendus echoes it back altered', async () => {
    const echoes = Object.values(alteredEchoes(API_KEY));
    // Four echoes to an answer, so that each fits Sovendus' message as the doctor shows it.
    const answers = [echoes.slice(0, 4), echoes.slice(4)].map((some) => ({
      status: 422,
      body: { message: `Unknown keys ${some.join(', ')}: that is all.` },
    }));
    api.enqueue(...answers);
    // Each run's test conversion takes one of the answers, whichever comes first.
    const runs = await Promise.all(answers.map(() => runBin(['doctor', '--send-test'], env)));
    for (const run of runs) {
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('that is all.');
    }
    expectNoKeyPiece(API_KEY, ...runs.map((run) => run.stdout + run.stderr));
  }, 60_000);

  it("quotes Sovendus' own message as it was said, option names and all", async () => {
    api.enqueue({ status: 422, body: { message: 'productId does not match apiBaseUrl' } });
    const run = await runBin(['doctor', '--send-test'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('(422: productId does not match apiBaseUrl)');
  }, 60_000);

  it('masks the API key when it is set in the product id variable (the two swapped)', async () => {
    const swapped = { ...env, SOVENDUS_PRODUCT_ID: API_KEY, SOVENDUS_API_KEY: PRODUCT_ID };
    const runs = await Promise.all([
      runBin(['doctor', '--send-test'], swapped),
      runBin(['doctor', '--json'], swapped),
    ]);
    expect(runs.map((run) => run.code)).toEqual([1, 1]);
    expect(runs[0].stdout).toContain('SOVENDUS_PRODUCT_ID: must be a UUID');
    expectNoKeyPiece(API_KEY, ...runs.map((run) => run.stdout + run.stderr));
  }, 60_000);

  it('shows SOVENDUS_PRODUCT_IDS, and masks the API key set among them by mistake', async () => {
    const other = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    const runs = await Promise.all([
      runBin(['doctor', '--json'], { ...env, SOVENDUS_PRODUCT_IDS: `${PRODUCT_ID},${other}` }),
      runBin(['doctor'], { ...env, SOVENDUS_PRODUCT_IDS: `${other}, ${API_KEY}` }),
    ]);
    const report = JSON.parse(runs[0].stdout) as Report;
    expect(report.settings.SOVENDUS_PRODUCT_IDS).toBe(`${PRODUCT_ID}, ${other}`);
    expect(runs[1].code).toBe(1);
    expect(runs[1].stdout).toContain('SOVENDUS_PRODUCT_IDS: must be a UUID');
    expect(runs[1].stdout).toContain(other);
    expectNoKeyPiece(API_KEY, runs[1].stdout + runs[1].stderr);
  }, 60_000);

  it('masks a Redis password, in the query or the userinfo, and credentials in a base URL', async () => {
    const { port } = new URL(env.REDIS_URL ?? '');
    const secrets = ['QuerySecret91', 'UserinfoSecret92', 'LoneSecret93', 'BaseSecret94'];
    const nobody = await freePort();
    const runs = await Promise.all([
      runBin(['doctor'], { ...env, REDIS_URL: `${env.REDIS_URL}/0?password=${secrets[0]}` }),
      runBin(['doctor', '--json'], {
        ...env,
        REDIS_URL: `redis://bob:${secrets[1]}@127.0.0.1:${port}`,
      }),
      // Nobody listens there: the check's failure is printed too.
      runBin(['doctor'], { ...env, REDIS_URL: `redis://${secrets[2]}@127.0.0.1:${nobody}` }),
      runBin(['doctor'], {
        ...env,
        SOVENDUS_API_BASE_URL: `https://sovendus:${secrets[3]}@press-order-api.sovendus.com`,
      }),
    ]);
    expect(runs[0].stdout).toMatch(/REDIS_URL\s+redis:\/\/127\.0\.0\.1:\d+\/0\?password=••••\n/);
    expect(runs[2].stdout).toContain('✗ redis');
    expect(runs[3].stdout).toContain('must not contain a user name or password');
    for (const [index, run] of runs.entries()) {
      const printed = `run ${index}: ${run.stdout}${run.stderr}`;
      for (const secret of secrets) expect(printed).not.toContain(secret);
    }
  }, 60_000);

  it('keeps the rest of the report readable: a user name beside a password is no secret', async () => {
    const { port } = new URL(env.REDIS_URL ?? '');
    const secret = 'UserinfoSecret95';
    const runs = await Promise.all([
      // Hosted Redis URLs name the user `default`, a word the report uses too.
      runBin(['doctor'], { ...env, REDIS_URL: `redis://default:${secret}@127.0.0.1:${port}` }),
      runBin(['doctor'], {
        ...env,
        SOVENDUS_API_BASE_URL: `https://user:${secret}@press-order-api.sovendus.com`,
      }),
    ]);
    expect(runs[0].stdout).toContain('(default)');
    expect(runs[0].stdout).toMatch(/REDIS_URL\s+redis:\/\/••••:••••@127\.0\.0\.1:\d+\n/);
    expect(runs[1].stdout).toContain('must not contain a user name or password (userinfo before');
    for (const run of runs) expect(run.stdout + run.stderr).not.toContain(secret);
  }, 60_000);

  it('fails, naming each variable, when the configuration is invalid', async () => {
    const run = await runBin(['doctor', '--json'], { SOVENDUS_PRODUCT_ID: 'abc' });
    const report = JSON.parse(run.stdout) as Report;
    expect(run.code).toBe(1);
    expect(report.checks[0]?.message).toContain('SOVENDUS_PRODUCT_ID: must be a UUID');
    expect(report.checks[0]?.message).toContain('SOVENDUS_API_KEY: is required for conversions');
  });

  it('names only variables when no setting is given at all', async () => {
    const run = await runBin(['doctor'], {});
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '- SOVENDUS_PRODUCT_ID + SOVENDUS_API_KEY, or SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER: set ' +
        'SOVENDUS_PRODUCT_ID and SOVENDUS_API_KEY (conversions), ' +
        'SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER (voucher codes), or both',
    );
    expect(run.stdout).not.toMatch(/productId|apiKey|coupons/);
  });

  it('names the variable when Sovendus answers 404 at the API base URL', async () => {
    api.enqueue({ status: 404, body: {} });
    const run = await runBin(['doctor', '--send-test'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('✗ test conversion WRONG_URL');
    expect(run.stdout).toContain('check SOVENDUS_API_BASE_URL.');
    expect(run.stdout).not.toContain('apiBaseUrl');
  });

  it('checks the coupon settings and sends a test redemption to the configured endpoint', async () => {
    const run = await runBin(['doctor', '--send-test', '--json'], {
      ...env,
      SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER: '1234',
      SOVENDUS_COUPON_API_BASE_URL: api.url,
    });
    const report = JSON.parse(run.stdout) as Report;
    expect(run.code).toBe(0);
    expect(report.settings.SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER).toBe('1234');
    expect(report.checks.map((check) => check.name)).toEqual([
      'configuration',
      'redis',
      'queue',
      'api host',
      'coupon api host',
      'test conversion',
      'test redemption',
    ]);
    expect(api.redemptions.map((call) => call.redemption?.coupon_code)).toEqual([
      'SOVENDUS-EXPRESS-TEST',
    ]);
  });

  it('checks a coupon-only setup without conversion settings, and says what a 500 means', async () => {
    const couponApi = await startFakeSovendusApi({ trafficSourceNumbers: ['1234'] });
    try {
      const run = await runBin(['doctor', '--send-test'], {
        SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER: '4321',
        SOVENDUS_COUPON_API_BASE_URL: couponApi.url,
        SOVENDUS_RETRY_ATTEMPTS: '1',
      });
      expect(run.code).toBe(1);
      expect(run.stdout).not.toContain('test conversion');
      expect(run.stdout).toContain('✗ test redemption UNAVAILABLE');
      // The doctor speaks of the variables it reads, not of the options they fill.
      expect(run.stdout).toContain(
        'check SOVENDUS_COUPON_TRAFFIC_SOURCE_NUMBER and SOVENDUS_COUPON_TRAFFIC_MEDIUM_PUBLIC_ID',
      );
      expect(run.stdout).not.toContain('coupons.');
    } finally {
      await couponApi.close();
    }
  });

  it('fails when Redis does not answer, with its own line and no noise from ioredis', async () => {
    const dead = { ...env, REDIS_URL: `redis://127.0.0.1:${await freePort()}` };
    const [json, text] = await Promise.all([
      runBin(['doctor', '--json'], dead),
      runBin(['doctor'], dead),
    ]);
    const report = JSON.parse(json.stdout) as Report;
    expect(json.code).toBe(1);
    expect(report.checks.find((check) => check.name === 'redis')).toMatchObject({ ok: false });
    expect(text.code).toBe(1);
    // The cause, which only ioredis' noise used to show.
    expect(text.stdout).toMatch(
      /✗ redis +no answer at redis:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED 127\.0\.0\.1:\d+\n/,
    );
    for (const run of [json, text]) {
      expect(run.stdout + run.stderr).not.toContain('Unhandled error event');
      expect(run.stderr).toBe('');
    }
  });

  it('fails when the API host does not resolve', async () => {
    const run = await runBin(['doctor', '--json'], {
      ...env,
      SOVENDUS_API_BASE_URL: 'https://sovendus.invalid',
    });
    const report = JSON.parse(run.stdout) as Report;
    expect(run.code).toBe(1);
    expect(report.checks.find((check) => check.name === 'api host')).toMatchObject({ ok: false });
  });

  it('answers a usage error with exit code 2', async () => {
    const unknown = await runBin(['doctor', '--frobnicate'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Usage: sovendus-express doctor');
    expect((await runBin([], env)).code).toBe(2);
  });
});

describe('the sovendus-express bin', () => {
  let folder: string;
  let shim: Runner;
  let dotenv: string;
  let missing: string;
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'sovendus-bin-'));
    shim = byShim(folder);
    dotenv = join(folder, 'shop.env');
    missing = join(folder, 'missing.env');
    writeFileSync(
      dotenv,
      [
        `SOVENDUS_PRODUCT_ID=${PRODUCT_ID}`,
        `SOVENDUS_API_KEY=${API_KEY}`,
        `SOVENDUS_API_BASE_URL=${api.url}`,
        '',
      ].join('\n'),
    );
  });
  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  const runners = (): [string, Runner][] => [
    ['node', byNode],
    ['the .bin shim', shim],
  ];

  it.each(['--dotenv=PATH', '--dotenv PATH'])(
    'reads the variables of a .env file given as %s, run by node and through the shim',
    async (form) => {
      const flag = (path: string) =>
        form.includes('=') ? [`--dotenv=${path}`] : ['--dotenv', path];
      for (const [name, runner] of runners()) {
        const run = await runBin(['doctor', '--json', ...flag(dotenv)], {}, runner);
        expect({ name, code: run.code, stderr: run.stderr }).toEqual({ name, code: 0, stderr: '' });
        const report = JSON.parse(run.stdout) as Report;
        expect(report.settings.SOVENDUS_PRODUCT_ID).toBe(PRODUCT_ID);
        const absent = await runBin(['doctor', ...flag(missing)], {}, runner);
        expect({ name, code: absent.code }).toEqual({ name, code: 2 });
        expect(absent.stderr).toContain(`Cannot read ${missing}: ENOENT`);
        expect(absent.stdout).toBe('');
      }
    },
  );

  it('reads a .env file for the worker too, and says when it is missing', async () => {
    for (const [name, runner] of runners()) {
      const absent = await runBin(['worker', `--dotenv=${missing}`], {}, runner);
      expect({ name, code: absent.code }).toEqual({ name, code: 2 });
      expect(absent.stderr).toContain(`Cannot read ${missing}: ENOENT`);
    }
  });

  it('still reads an existing file given with --env-file=PATH, the old name', async () => {
    for (const [name, runner] of runners()) {
      const run = await runBin(['doctor', '--json', `--env-file=${dotenv}`], {}, runner);
      expect({ name, code: run.code }).toEqual({ name, code: 0 });
      expect((JSON.parse(run.stdout) as Report).settings.SOVENDUS_API_KEY).toBe('••••-PQR');
    }
  });

  it('prints the package version with --version and -v, from the CommonJS and the ESM build', async () => {
    const { version } = JSON.parse(readFileSync(resolve(__dirname, '../package.json'), 'utf8')) as {
      version: string;
    };
    const esm: Runner = [process.execPath, resolve(__dirname, '../dist/esm/cli/main.js')];
    for (const [name, runner] of [...runners(), ['the ESM build', esm] as [string, Runner]]) {
      for (const flag of ['--version', '-v']) {
        const run = await runBin([flag], {}, runner);
        expect({ name, flag, ...run }).toEqual({
          name,
          flag,
          code: 0,
          stdout: `${version}\n`,
          stderr: '',
        });
      }
    }
  });

  it('lists --dotenv and --version in its usage', async () => {
    const help = await runBin(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('sovendus-express doctor [--send-test] [--json] [--dotenv=PATH]');
    expect(help.stdout).toContain('sovendus-express worker [--dotenv=PATH]');
    expect(help.stdout).toContain('sovendus-express --version');
  });
});
