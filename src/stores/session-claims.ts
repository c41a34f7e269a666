import type { ClaimKeysOf, ClaimLease, SessionClaims, TokenStore } from '../types.js';
import { tokenAnswer } from './store-answers.js';

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
  // The claim outcome is checked by the caller, as any store's `acquireSessionClaims` answer.
  const entry = tokenAnswer(await store.getToken(sessionKey));
  if (entry === undefined) return undefined;
  return { entry, claim: await store.acquireClaims(claimKeysOf(entry), owner, lease) };
}
