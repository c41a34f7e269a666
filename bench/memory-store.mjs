// Two floods through a MemoryTokenStore; its heap must stay bounded in both. Run with
// --expose-gc; prints one JSON line.
// 1. 1,000,000 distinct tokens through maxEntries 100,000 (maxBytes raised so that the entry
//    bound is the one measured).
// 2. 10,000 tokens under 8 KB session keys through the defaults (issue 12: +85 MB when only
//    entries were bounded): the default maxBytes, 8 MiB, must hold the heap near it.
import { randomBytes } from 'node:crypto';
import { MemoryTokenStore } from 'sovendus-express';

const PRODUCT_ID = '9bc72425-902c-3abf-9db8-8b186d7cb160';
const TTL_SECONDS = 2_592_000;

async function flood({ store, tokens, keyOf }) {
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  for (let index = 0; index < tokens; index += 1) {
    await store.saveToken(
      keyOf(index),
      { token: `token-${index}-abcdefghij`, productId: PRODUCT_ID, capturedAt: Date.now() },
      TTL_SECONDS,
    );
  }
  globalThis.gc();
  return (process.memoryUsage().heapUsed - before) / 1024 / 1024;
}

const TOKENS = 1_000_000;
const MAX_ENTRIES = 100_000;
const BOUND_MB = 64;
const manyStore = new MemoryTokenStore({ maxEntries: MAX_ENTRIES, maxBytes: 256 * 1024 * 1024 });
const growthMb = await flood({
  store: manyStore,
  tokens: TOKENS,
  keyOf: (index) => `session-${index}`,
});
const size = manyStore.size;

const LONG_TOKENS = 10_000;
const KEY_BYTES = 8_192;
const LONG_BOUND_MB = 12; // the 8 MiB default, and what the estimate may miss
const longStore = new MemoryTokenStore();
const longGrowthMb = await flood({
  store: longStore,
  tokens: LONG_TOKENS,
  keyOf: () => randomBytes(KEY_BYTES / 2).toString('hex'),
});

console.log(
  JSON.stringify({
    tokens: TOKENS,
    maxEntries: MAX_ENTRIES,
    size,
    heapGrowthMb: growthMb,
    boundMb: BOUND_MB,
    pass: growthMb < BOUND_MB && size === MAX_ENTRIES,
    longKeys: {
      tokens: LONG_TOKENS,
      keyBytes: KEY_BYTES,
      size: longStore.size,
      estimatedBytes: longStore.bytes,
      heapGrowthMb: longGrowthMb,
      boundMb: LONG_BOUND_MB,
      pass: longGrowthMb < LONG_BOUND_MB,
    },
  }),
);
