import { tokenClaimKeys } from '../claim-keys.js';
import type { SessionClaims, TokenStore } from '../types.js';

/**
 * `acquireSessionClaims` in two steps, for stores that cannot do it in one: read the session's
 * token, then claim its conversion.
 */
export async function readThenClaim(
  store: Pick<TokenStore, 'getToken' | 'acquireClaims'>,
  sessionKey: string,
  keys: readonly string[],
  owner: string,
  leaseMs: number,
): Promise<SessionClaims | undefined> {
  const entry = await store.getToken(sessionKey);
  if (entry === undefined) return undefined;
  const claim = await store.acquireClaims(tokenClaimKeys(entry, keys), owner, leaseMs);
  return { entry, claim };
}
