import { invalid, valid, type Checked } from './validity.js';

const MAX_ORDER_ID_LENGTH = 256;

// Printable text only: an order id names claims and travels in logs and queue jobs.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/**
 * An order id as the shop gives it (a string, or a number from an auto-increment column), as
 * the one string the claims and the API use; none stays `undefined` (an order id is optional
 * everywhere); or what is wrong with it. A number must be a safe integer: beyond 2^53 two
 * different ids can be the same number (12345678901234567890 and ...891 both are
 * 12345678901234567000), and the second order would be lost as a duplicate.
 */
export function checkOrderId(orderId: unknown): Checked<string | undefined> {
  if (orderId === undefined) return valid(undefined);
  if (typeof orderId === 'number') {
    return Number.isSafeInteger(orderId)
      ? valid(String(orderId))
      : invalid(
          'orderId as a number must be a whole number up to 9007199254740991: pass larger or other ids as strings',
        );
  }
  if (
    typeof orderId === 'string' &&
    orderId.length > 0 &&
    orderId.length <= MAX_ORDER_ID_LENGTH &&
    !CONTROL_CHARACTER.test(orderId)
  ) {
    return valid(orderId);
  }
  return invalid(
    `orderId must be a non-empty string of at most ${MAX_ORDER_ID_LENGTH} printable characters, or a whole number`,
  );
}
