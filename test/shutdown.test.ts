import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { createSovendus } from '../src/index.js';
import { startFakeSovendusApi } from '../src/testing/index.js';
import { API_KEY, freshTestToken, PRODUCT_ID } from './support/shop.js';
import { waitFor } from './support/wait-for.js';

// A shop that captures, converts (once through a retry), closes everything it opened, and then
// must exit on its own: no timer or socket of the package may keep it alive.
const SHOP = `
import express from 'express';
import session from 'express-session';
import { createSovendus } from 'sovendus-express';
import { startFakeSovendusApi } from 'sovendus-express/testing';

const api = await startFakeSovendusApi();
const sovendus = createSovendus({
  productId: '${PRODUCT_ID}', apiKey: 'KEY', apiBaseUrl: api.url, storeTimeoutMs: 50,
});
const app = express();
app.use(session({ secret: 's', resave: false, saveUninitialized: false }));
app.use(sovendus.capture());
app.post('/checkout', sovendus.convert(), (_req, res) => res.json(res.locals.sovendus));
const server = app.listen(0, '127.0.0.1');
await new Promise((ready) => server.once('listening', ready));
const base = 'http://127.0.0.1:' + server.address().port;

const landing = await fetch(base + '/?sovReqToken=12345-test-123-12345');
const cookie = landing.headers.get('set-cookie').split(';')[0];
api.enqueue({ status: 503 });
const result = await (await fetch(base + '/checkout', { method: 'POST', headers: { cookie } })).json();
console.log(result.status, result.attempts);

server.close();
server.closeAllConnections();
await sovendus.close();
await api.close();
`;

it('lets an idle shop process exit by itself after close()', async () => {
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((done) => {
    const child = execFile(
      process.execPath,
      ['--input-type=module', '-e', SHOP],
      { cwd: resolve(__dirname, '..'), timeout: 15_000 },
      (error, out) => {
        done({ code: error ? (child.exitCode ?? -1) : 0, stdout: out });
      },
    );
  });
  // Exiting at all is the proof: a timer or socket kept alive would hold the process until
  // execFile's timeout kills it, and the code would not be 0.
  expect(stdout.trim()).toBe('sent 2');
  expect(code).toBe(0);
});

it('stops waiting for a stuck conversion after close({ timeoutMs })', async () => {
  const api = await startFakeSovendusApi();
  const sovendus = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    apiBaseUrl: api.url,
    timeoutMs: 60_000,
    sendLimitMs: 60_000,
    retry: { attempts: 1 },
  });
  api.enqueue('hang');
  const sending = sovendus.sendConversion({ token: freshTestToken() });
  // Hung at the API first: a call that reached it only as it closed would hang its close.
  await waitFor(() => api.calls.length === 1, 'the call to reach the API');
  // The call hangs until api.close() below: close() can only return first by its timeout.
  await sovendus.close({ timeoutMs: 100 });
  await api.close(); // drops the hung connection: the send fails, typed
  expect(await sending).toMatchObject({ status: 'failed', error: { code: 'UNAVAILABLE' } });
});

it('stops waiting for a queue that does not close after close({ timeoutMs })', async () => {
  // A custom queue whose own close hangs, as BullMQ's does while its Redis hangs.
  const warnings: string[] = [];
  const sovendus = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    logger: { warn: (_fields, message) => warnings.push(message) },
    queue: {
      enqueue: () => Promise.resolve(),
      startWorker: () => undefined,
      close: () => new Promise<void>(() => undefined),
    },
  });
  await sovendus.close({ timeoutMs: 100 });
  expect(warnings).toEqual(['sovendus: the delivery queue did not close in time; stopped waiting']);
});
