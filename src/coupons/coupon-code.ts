import { invalid, valid, type Checked } from '../validity.js';

/** The longest voucher code taken, in characters. */
const MAX_CODE_LENGTH = 100;
// Printable ASCII without spaces: codes are typed by shoppers, so control characters, spaces
// and look-alike Unicode mean a mistake on the shop's side, not a code Sovendus issued.
const COUPON_CODE = /^[\x21-\x7e]+$/;

/**
 * A voucher code, trimmed, or why it is none: the one rule for a code the shop reports, one a
 * Sovendus link brought (`sovCouponCode`), and one a store hands back. The messages name the
 * code as `name` and never repeat the value.
 */
export function checkCouponCode(code: unknown, name = 'couponCode'): Checked<string> {
  const trimmed = typeof code === 'string' ? code.trim() : undefined;
  if (trimmed === undefined || trimmed === '') {
    return invalid(`${name} is required: the voucher code used in the order`);
  }
  if (trimmed.length > MAX_CODE_LENGTH || !COUPON_CODE.test(trimmed)) {
    return invalid(
      `${name} must be 1 to ${MAX_CODE_LENGTH} printable ASCII characters without spaces`,
    );
  }
  return valid(trimmed);
}
