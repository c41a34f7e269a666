import type { IncomingMessage } from 'node:http';
import { readQueryParam } from './query-token.js';

/** The landing URL's parameter that names the product a Sovendus link belongs to. */
export const PRODUCT_PARAM = 'sovReqProductId';

/**
 * The product id a landing's token is stored with: the URL's `sovReqProductId` when it is one
 * of the shop's `productIds`, else `productIdFor(req)` (the `productId` option's answer, which
 * may throw). A `sovReqProductId` that is not in the list (or is repeated, or badly encoded) is
 * ignored and reported to `rejected`: the token is still worth keeping, with the default product.
 * Without `productIds` the parameter is not even looked for, as before.
 */
export function chooseProductId(
  productIds: readonly string[] | undefined,
  productIdFor: (req: IncomingMessage) => string,
  rejected: (reason: string) => void,
): (req: IncomingMessage) => string {
  if (productIds === undefined) return productIdFor;
  // Product ids are UUIDs, which may come in either case; the list's spelling is the one kept.
  const listed = new Map(productIds.map((id) => [id.toLowerCase(), id]));
  return (req) => {
    const found = readQueryParam(req.url ?? '', PRODUCT_PARAM);
    if (!found.found) return productIdFor(req);
    const chosen = found.ok ? listed.get(found.value.toLowerCase()) : undefined;
    if (chosen !== undefined) return chosen;
    rejected(
      found.ok
        ? `${PRODUCT_PARAM} is not one of the productIds option`
        : `${PRODUCT_PARAM}: ${found.problem}`,
    );
    return productIdFor(req);
  };
}
