// The protocol doc's own snippets, the reference the benchmarks compare against. One copy,
// shared by the HTTP shops (shop.mjs) and the in-process measurement (in-process.mjs).
export const PRODUCT_ID = '9bc72425-902c-3abf-9db8-8b186d7cb160';
export const API_KEY = 'BENCH-KEY';
export const TTL = 2_592_000;

/** Landing: keep the token for the session. */
export async function naiveCapture(redis, sessionId, token) {
  if (token) await redis.setex(`sovendus_token_${sessionId}`, TTL, token);
}

/** Checkout: read the token, call the API, delete the token on 200. Resolves to a status. */
export async function naiveCheckout(redis, apiUrl, visitor) {
  const key = `sovendus_token_${visitor}`;
  const token = await redis.get(key);
  if (!token) return 'no_token';
  const response = await fetch(`${apiUrl}/ext/${PRODUCT_ID}/${token}/api`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiKey: API_KEY }),
  });
  await response.text();
  if (response.status !== 200) return 'failed';
  await redis.del(key);
  return 'sent';
}
