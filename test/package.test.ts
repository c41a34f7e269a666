import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { STRICT_SHOP_COMPILER_OPTIONS } from './support/consumer-project.js';

/**
 * The package as users get it (built by `npm test` before jest runs): built with tsc, resolved through its `exports` map by real
 * CommonJS, ESM and TypeScript consumers in a folder of their own.
 */
const root = resolve(__dirname, '..');
let consumer: string;

const run = (command: string, args: string[], cwd = consumer) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  consumer = mkdtempSync(join(tmpdir(), 'sovendus-consumer-'));
  mkdirSync(join(consumer, 'node_modules'));
  for (const name of ['express', 'express-session', '@types']) {
    symlinkSync(join(root, 'node_modules', name), join(consumer, 'node_modules', name));
  }
  symlinkSync(root, join(consumer, 'node_modules', 'sovendus-express'));
}, 60_000);
afterAll(() => {
  rmSync(consumer, { recursive: true, force: true });
});

// Both consumers do a whole conversion against the packaged fake API.
const SMOKE = `
  const api = await startFakeSovendusApi();
  const sovendus = createSovendus({
    productId: '9bc72425-902c-3abf-9db8-8b186d7cb160', apiKey: 'KEY', apiBaseUrl: api.url,
  });
  const result = await sovendus.sendConversion({ token: '12345-test-123-12345' });
  await api.close();
  console.log(result.status, new SovendusConfigError('x') instanceof SovendusError, attemptsForWindow(100, 20));
`;

it('works from CommonJS, all three entry points', () => {
  writeFileSync(
    join(consumer, 'consumer.cjs'),
    `const { createSovendus, SovendusError, SovendusConfigError } = require('sovendus-express');
     const { startFakeSovendusApi } = require('sovendus-express/testing');
     const { attemptsForWindow } = require('sovendus-express/bullmq');
     (async () => {${SMOKE}})();`,
  );
  expect(run('node', ['consumer.cjs']).trim()).toBe('sent true 4');
});

it('works from ESM, all three entry points', () => {
  writeFileSync(
    join(consumer, 'consumer.mjs'),
    `import { createSovendus, SovendusError, SovendusConfigError } from 'sovendus-express';
     import { startFakeSovendusApi } from 'sovendus-express/testing';
     import { attemptsForWindow } from 'sovendus-express/bullmq';
     ${SMOKE}`,
  );
  expect(run('node', ['consumer.mjs']).trim()).toBe('sent true 4');
});

it('type-checks in a strict TypeScript Express app, ESM and CommonJS alike', () => {
  const app = `
    import express from 'express';
    import session from 'express-session';
    import { createSovendus, MemoryTokenStore, type ConversionResult } from 'sovendus-express';
    import { startFakeSovendusApi } from 'sovendus-express/testing';
    import { BullMQDeliveryQueue } from 'sovendus-express/bullmq';

    const queue: BullMQDeliveryQueue | undefined = undefined;
    const sovendus = createSovendus({
      productId: '9bc72425-902c-3abf-9db8-8b186d7cb160',
      apiKey: 'KEY',
      store: new MemoryTokenStore({ maxEntries: 100 }),
      queue,
    });
    const app = express();
    app.use(session({ secret: 'secret', resave: false, saveUninitialized: false }));
    app.use(sovendus.capture());
    app.post('/checkout', sovendus.convert(), async (req, res) => {
      const fromHook: ConversionResult | undefined = res.locals.sovendus;
      const direct = await req.sovendus.complete({ orderId: 42 });
      if (direct.status === 'failed') console.log(direct.error.code, direct.error.retryable);
      res.json({ fromHook, direct });
    });
    void startFakeSovendusApi;
  `;
  writeFileSync(join(consumer, 'app.mts'), app);
  writeFileSync(join(consumer, 'app.cts'), app);
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'nodenext', ...STRICT_SHOP_COMPILER_OPTIONS },
      files: ['app.mts', 'app.cts'],
    }),
  );
  expect(() =>
    run('node', [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.']),
  ).not.toThrow();
});

it('ships only the built code, its types and the docs', () => {
  const [pack] = JSON.parse(
    run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], root),
  ) as [{ files: { path: string }[] }];
  const paths = pack.files.map((file) => file.path);
  expect(paths).toEqual(
    expect.arrayContaining([
      'package.json',
      'README.md',
      'dist/cjs/index.js',
      'dist/esm/index.d.ts',
    ]),
  );
  expect(
    paths.filter((path) => !/^(dist\/|package\.json$|README\.md$|LICENSE$)/.test(path)),
  ).toEqual([]);
});
