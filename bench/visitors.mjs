// Visitors who landed, for the checkout rows: a token each, as our store keeps it under
// `{prefix}token:o-{i}` and as the protocol doc's snippet keeps it under `sovendus_token_n-{i}`.
// The shops find them by the `x-visitor` header (`o-{i}` for ours, `n-{i}` for the snippet's).
import { PRODUCT_ID } from './naive.mjs';

export async function seedVisitors(redis, prefix, count) {
  const token = (index) => `seed-${index}-tok`;
  for (let start = 0; start < count; start += 10_000) {
    const pipeline = redis.pipeline();
    for (let index = start; index < Math.min(count, start + 10_000); index += 1) {
      // As the store writes it: [token, productId, capturedAt].
      const entry = [token(index), PRODUCT_ID, 1];
      pipeline.set(`${prefix}token:o-${index}`, JSON.stringify(entry), 'EX', 3600);
      pipeline.set(`sovendus_token_n-${index}`, token(index), 'EX', 3600);
    }
    await pipeline.exec();
  }
}
