// 1,000,000 distinct tokens through a MemoryTokenStore capped at 100,000 entries: its heap must
// stay bounded. Run with --expose-gc; prints one JSON line.
import { MemoryTokenStore } from 'sovendus-express';

const TOKENS = 1_000_000;
const MAX_ENTRIES = 100_000;
const BOUND_MB = 64;

globalThis.gc();
const before = process.memoryUsage().heapUsed;
const store = new MemoryTokenStore({ maxEntries: MAX_ENTRIES });
for (let index = 0; index < TOKENS; index += 1) {
  await store.saveToken(
    `session-${index}`,
    {
      token: `token-${index}-abcdefghij`,
      productId: '9bc72425-902c-3abf-9db8-8b186d7cb160',
      capturedAt: Date.now(),
    },
    2_592_000,
  );
}
globalThis.gc();
const growthMb = (process.memoryUsage().heapUsed - before) / 1024 / 1024;
console.log(
  JSON.stringify({
    tokens: TOKENS,
    maxEntries: MAX_ENTRIES,
    size: store.size,
    heapGrowthMb: growthMb,
    boundMb: BOUND_MB,
    pass: growthMb < BOUND_MB && store.size === MAX_ENTRIES,
  }),
);
