import type { ClaimKeysOf, ClaimLease, SessionClaims, TokenStore } from '../types.js';

/**
 * `acquireSessionClaims` in two steps, for stores that cannot do it in one: read the session's
 * token, then claim its conversion.
 */
export async function readThenClaim(
  store: Pick<TokenStore, 'getToken' | 'acquireClaims'>,
  sessionKey: string,
  claimKeysOf: ClaimKeysOf,
  owner: string,
  lease: ClaimLease,
): Promise<SessionClaims | undefined> {
  const entry = await store.getToken(sessionKey);
  // A custom store may answer null for "none", as many database clients do.
  if (!entry) return undefined;
  return { entry, claim: await store.acquireClaims(claimKeysOf(entry), owner, lease) };
}
