// The three shop instances: separate node processes running instance.mjs, each started fresh
// per scenario. The runner kills one on purpose in some scenarios (SIGKILL, then a new process
// in its slot); an instance that dies on its own is a crash, recorded and restarted, as a
// process manager would.
/* global clearTimeout */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackChild } from './cleanup.mjs';
import { sleep } from './random.mjs';

const INSTANCE = fileURLToPath(new URL('./instance.mjs', import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;
const MAX_CRASH_RESTARTS = 3;
const STDERR_TAIL = 4_000;

/**
 * @param {object} options
 * @param {number} options.count how many instances
 * @param {Record<string, string>} options.env what instance.mjs reads
 * @param {(shop: string, message: object) => void} options.onMessage every IPC message
 */
export function createShops({ count, env, onMessage }) {
  const slots = Array.from({ length: count }, (_, index) => ({ index, generation: 0 }));
  const crashes = [];
  let stopping = false;
  let queryId = 0;

  /** Starts a new process in `slot` and resolves once it listens. */
  function launch(slot) {
    slot.generation += 1;
    const id = `shop${slot.index + 1}#${slot.generation}`;
    const child = trackChild(
      spawn(process.execPath, [INSTANCE], {
        env: { ...process.env, ...env, SHOP_ID: id },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      }),
    );
    const shop = { id, slot, child, url: undefined, alive: false, killedByUs: false, stderr: '' };
    slot.current = shop;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      shop.stderr = (shop.stderr + chunk).slice(-STDERR_TAIL);
    });
    child.on('message', (message) => onMessage(id, message));
    child.once('exit', (code, signal) => onExit(shop, code, signal));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id} did not start`)), READY_TIMEOUT_MS);
      child.on('message', (message) => {
        if (message?.type !== 'ready') return;
        clearTimeout(timer);
        shop.url = `http://127.0.0.1:${message.port}`;
        shop.features = { sendLimitMs: message.sendLimit };
        shop.alive = true;
        resolve(shop);
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`${id} exited before it was ready:\n${shop.stderr}`));
      });
    });
  }

  function onExit(shop, code, signal) {
    shop.alive = false;
    if (shop.killedByUs || stopping) return;
    // Died on its own: that is a finding. Restart it, a bounded number of times.
    crashes.push({ shop: shop.id, code, signal, stderr: shop.stderr });
    if (
      crashes.filter((crash) => crash.shop.startsWith(`shop${shop.slot.index + 1}#`)).length <=
      MAX_CRASH_RESTARTS
    ) {
      launch(shop.slot).catch(() => undefined);
    }
  }

  /** Asks an instance how many API calls it awaits; 0 when it does not answer in time. */
  function sendsInFlight(shop) {
    const id = (queryId += 1);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(0), 500);
      const listener = (message) => {
        if (message?.type === 'inflight' && message.id === id) done(message.count);
      };
      function done(count) {
        clearTimeout(timer);
        shop.child.off('message', listener);
        resolve(count);
      }
      shop.child.on('message', listener);
      if (shop.child.connected) shop.child.send({ type: 'inflight?', id });
    });
  }

  function stopOne(shop) {
    const { child } = shop;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  return {
    crashes,
    async start() {
      await Promise.all(slots.map((slot) => launch(slot)));
    },
    /** The instances that serve right now: the load generator spreads over these. */
    living: () => slots.map((slot) => slot.current).filter((shop) => shop?.alive),
    /** Which optional package features the instances found (all are built alike). */
    features: () => slots[0].current?.features,
    /**
     * Waits (at most `withinMs`) for an instance with API calls in flight, SIGKILLs the one
     * with the most, and restarts its slot after `downMs`. Resolves with what was killed.
     */
    async killOneSending({ withinMs, downMs }) {
      const deadline = Date.now() + withinMs;
      let victim;
      let inFlight = 0;
      do {
        for (const shop of this.living()) {
          const count = await sendsInFlight(shop);
          if (count > inFlight) [victim, inFlight] = [shop, count];
        }
        if (victim === undefined) await sleep(20);
      } while (victim === undefined && Date.now() < deadline);
      victim ??= this.living()[0];
      if (victim === undefined) return undefined;
      victim.killedByUs = true;
      victim.alive = false;
      const exited = new Promise((resolve) => victim.child.once('exit', resolve));
      victim.child.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      await sleep(downMs);
      const successor = await launch(victim.slot);
      return {
        killed: victim.id,
        sendsInFlight: inFlight,
        restartedAs: successor.id,
        downMs: Date.now() - killedAt,
      };
    },
    async stop() {
      stopping = true;
      await Promise.all(slots.map((slot) => slot.current && stopOne(slot.current)));
    },
  };
}
