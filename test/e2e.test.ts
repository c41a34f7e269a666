import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { createSovendus, type Sovendus } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { createExampleShop } from '../example-app/app';
import { API_KEY, PRODUCT_ID, TEST_TOKEN } from './support/shop.js';

/**
 * A visitor in a real browser: Debian's Chromium, headless, driven by playwright-core. Never a
 * downloaded browser; .ci/run installs the Debian package when it is missing.
 */
const CHROMIUM = '/usr/bin/chromium';
// The README's picture; refreshed by `UPDATE_SCREENSHOT=1 npm test`, else taken to a temp file.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT
  ? resolve(__dirname, '../docs/thank-you.png')
  : join(tmpdir(), `sovendus-thank-you-${process.pid}.png`);

/**
 * Sets a cookie in the page as sovendus-integration-scripts writes it: raw, secure, strict, 30
 * days, this host. (A string, run in the page: this project's TypeScript has no DOM types.)
 */
const scriptCookie = (name: string, value: string) =>
  `document.cookie = '${name}=${value};secure;samesite=strict;expires=' +
    new Date(Date.now() + 30 * 24 * 3600 * 1000).toUTCString() +
    ';domain=' + location.hostname + ';path=/'`;

let api: FakeSovendusApi;
let sovendus: Sovendus;
let server: Server;
let shopUrl: string;
let profile: string;
let browser: BrowserContext;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium).`,
    );
  }
  api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
  sovendus = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    apiBaseUrl: api.url,
    coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
  });
  const app = createExampleShop({ sovendus, sessionSecret: 'e2e', sessionMaxAgeMs: 2_592_000_000 });
  server = await new Promise<Server>((listening) => {
    const started = app.listen(0, '127.0.0.1', () => {
      listening(started);
    });
  });
  shopUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  profile = mkdtempSync(join(tmpdir(), 'sovendus-e2e-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 900, height: 640 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  await new Promise((closed) => server.close(closed));
  await sovendus.close();
  await api.close();
});

it('converts a visitor who lands with the test token, shops and checks out with a voucher', async () => {
  const page = await browser.newPage();
  await page.goto(`${shopUrl}/?sovReqToken=${TEST_TOKEN}`);
  expect(await page.getByTestId('sovendus-status').textContent()).toContain('12345-te…');

  await page.getByRole('link', { name: 'Enamel mug' }).click();
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByRole('link', { name: 'Go to checkout' }).click();
  await page.getByLabel('Your name').fill('Ada Lovelace');
  await page.getByLabel('Voucher code (optional)').fill('WELCOME-10');
  await page.getByRole('button', { name: 'Place order' }).click();

  const result = page.getByTestId('sovendus-result');
  expect(await result.textContent()).toContain('Sovendus conversion sent');
  const voucher = await page.getByTestId('voucher-result').textContent();
  expect(voucher).toContain('WELCOME-10 sent');
  expect(voucher).toContain('Voucher code reported');
  expect(await page.getByTestId('sovendus-status').textContent()).toContain('none');
  expect((await page.screenshot({ path: SCREENSHOT, fullPage: true })).length).toBeGreaterThan(0);

  expect(api.conversions.map((call) => call.token)).toEqual([TEST_TOKEN]);
  expect(api.redemptions.map((call) => call.redemption?.coupon_code)).toEqual(['WELCOME-10']);
}, 60_000);

it('converts a visitor whose token the browser script kept as a cookie, and clears that cookie', async () => {
  await browser.clearCookies();
  const token = '11111-test-111-11111';
  const page = await browser.newPage();
  // A cached landing page: the server never sees the query, only the script's cookie.
  await page.goto(`${shopUrl}/`);
  await page.evaluate(scriptCookie('sovReqToken', token));
  expect(await page.evaluate<string>('document.cookie')).toContain(`sovReqToken=${token}`);

  await page.getByRole('link', { name: 'Enamel mug' }).click();
  expect(await page.getByTestId('sovendus-status').textContent()).toContain('11111-te…');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByRole('link', { name: 'Go to checkout' }).click();
  await page.getByLabel('Your name').fill('Grace Hopper');
  await page.getByRole('button', { name: 'Place order' }).click();

  expect(await page.getByTestId('sovendus-result').textContent()).toContain(
    'Sovendus conversion sent',
  );
  expect(api.conversions.map((call) => call.token)).toContain(token);
  expect(await page.evaluate<string>('document.cookie')).not.toContain('sovReqToken');
  expect((await browser.cookies()).map((cookie) => cookie.name)).not.toContain('sovReqToken');
}, 60_000);

it("pre-fills a voucher link's code at checkout, reports it, and clears the script's cookie of it", async () => {
  await browser.clearCookies();
  const page = await browser.newPage();
  await page.goto(`${shopUrl}/?sovCouponCode=LINK-20`);
  // The browser script, where it still runs, keeps the link's code as a cookie too.
  await page.evaluate(scriptCookie('sovCouponCode', 'LINK-20'));

  await page.getByRole('link', { name: 'Merino socks' }).click();
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByRole('link', { name: 'Go to checkout' }).click();
  const voucherField = page.getByLabel('Voucher code (optional)');
  expect(await voucherField.inputValue()).toBe('LINK-20');
  await page.getByLabel('Your name').fill('Katherine Johnson');
  await page.getByRole('button', { name: 'Place order' }).click();

  const voucher = await page.getByTestId('voucher-result').textContent();
  expect(voucher).toContain('LINK-20 sent');
  expect(api.redemptions.filter((call) => call.redemption?.coupon_code === 'LINK-20')).toHaveLength(
    1,
  );
  expect((await browser.cookies()).map((cookie) => cookie.name)).not.toContain('sovCouponCode');
}, 60_000);

it('forgets a visitor who asks: the token is gone, and so is the script cookie', async () => {
  await browser.clearCookies();
  const token = 'fffff-test-fff-fffff';
  const page = await browser.newPage();
  await page.goto(`${shopUrl}/?sovReqToken=${token}`);
  await page.evaluate(scriptCookie('sovReqToken', token));
  expect(await page.getByTestId('sovendus-status').textContent()).toContain('fffff-te…');

  await page.getByRole('button', { name: 'Forget me' }).click();
  await page.waitForURL(`${shopUrl}/`);
  expect(await page.getByTestId('sovendus-status').textContent()).toContain('none');
  expect((await browser.cookies()).map((cookie) => cookie.name)).not.toContain('sovReqToken');
  expect(api.conversions.map((call) => call.token)).not.toContain(token);
}, 60_000);
