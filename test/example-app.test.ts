import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import request from 'supertest';

/** `npm start` as a newcomer runs it: no configuration, offline, against the fake API. */
let shop: ChildProcess;
let landingUrl: URL;
let output = '';

beforeAll(async () => {
  const env = Object.fromEntries(
    Object.entries({ ...process.env, PORT: '0' }).filter(([name]) => !name.startsWith('SOVENDUS_')),
  );
  shop = spawn(process.execPath, ['example-app/start.mjs'], {
    cwd: resolve(__dirname, '..'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  shop.stdout?.setEncoding('utf8');
  shop.stdout?.on('data', (chunk: string) => {
    output += chunk;
  });
  landingUrl = await new Promise<URL>((found, failed) => {
    shop.stdout?.on('data', () => {
      const match = /Open (http:\/\/\S+) and buy/.exec(output);
      if (match?.[1]) found(new URL(match[1]));
    });
    shop.once('exit', (code) => {
      failed(new Error(`example app exited (${code}): ${output}`));
    });
  });
});
afterAll(() => {
  shop.kill('SIGTERM');
});

it('prints a landing URL with the Sovendus test token', () => {
  expect(output).toContain('running offline');
  expect(landingUrl.searchParams.get('sovReqToken')).toBe('12345-test-123-12345');
});

it('converts the test token when the visitor buys, and says so', async () => {
  const visitor = request.agent(landingUrl.origin.replace('localhost', '127.0.0.1'));
  const landing = await visitor.get(`/${landingUrl.search}`).expect(200);
  expect(landing.text).toContain('<strong>12345-te…</strong>');
  const thanks = await visitor.post('/checkout').expect(200);
  expect(thanks.text).toContain('Conversion sent to Sovendus');
  expect(output).toContain('✓ Conversion sent');
  const again = await visitor.post('/checkout').expect(200);
  expect(again.text).toContain('No Sovendus token in this session');
});
