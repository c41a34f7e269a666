const MAX_ORDER_ID_LENGTH = 256;

/**
 * An order id as the shop gives it (a string, or a number from an auto-increment column), as
 * the one string the claims and the API use; or what is wrong with it.
 */
export function normalizeOrderId(orderId: unknown): string | { problem: string } {
  const text = typeof orderId === 'number' && Number.isFinite(orderId) ? String(orderId) : orderId;
  if (typeof text === 'string' && text.length > 0 && text.length <= MAX_ORDER_ID_LENGTH) {
    return text;
  }
  return {
    problem: `orderId must be a non-empty string or a finite number of at most ${MAX_ORDER_ID_LENGTH} characters`,
  };
}
