/**
 * The names of the send claims that make each delivery go out once (see `TokenStore`). Stores
 * prefix them; `RedisTokenStore` also spells `tokenClaimKey` in Lua, for the checkout shortcut.
 */

/** A token converts once, whoever sends it. */
export const tokenClaimKey = (productId: string, token: string): string =>
  `conversion:${productId}:${token}`;

/** The claims of a token's conversion: the token's own, then the others (its order's). */
export const tokenClaimKeys = (
  { productId, token }: { productId: string; token: string },
  others: readonly string[],
): string[] => [tokenClaimKey(productId, token), ...others];

/** An order converts once: a double-submitted checkout is one conversion. */
export const orderClaimKey = (orderId: string): string => `order:${orderId}`;

/**
 * One redemption per order and code; without an order id, per code (Sovendus only lets shops
 * leave it out when codes are unique per customer). JSON, since both may hold ':'.
 */
export const couponClaimKey = (orderId: string | undefined, couponCode: string): string =>
  `coupon:${JSON.stringify([orderId ?? null, couponCode])}`;
