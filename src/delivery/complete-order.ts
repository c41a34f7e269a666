import { SovendusValidationError } from '../errors.js';
import { checkOrderId } from '../order-id.js';
import type {
  CompleteOptions,
  CompleteOrderOptions,
  CompleteOrderResult,
  ConversionFailed,
  ConversionResult,
  RedeemCouponOptions,
  RedemptionFailed,
  RedemptionResult,
} from '../types.js';
import { invalid, valid, type Checked } from '../validity.js';

/** The most distinct voucher codes one order may name: each is a call to Sovendus. */
const MAX_ORDER_CODES = 20;

const NOT_AN_ORDER =
  'completeOrder() takes an order object, { orderId, couponCodes?, orderValue?, ... }';

/** What an order's completion is made of: the two deliveries it runs, and how they fail. */
export interface CompleteOrderDeps<Session> {
  /** The session's conversion, as `complete()`; `undefined` without conversions. */
  completeSession:
    ((session: Session, options: CompleteOptions) => Promise<ConversionResult>) | undefined;
  /** One code's redemption, as `redeemCoupon()`; `undefined` without the `coupons` option. */
  redeemCoupon: ((options: RedeemCouponOptions) => Promise<RedemptionResult>) | undefined;
  /** A conversion that cannot start: logged and emitted as any `failed` one. */
  failConversion: (error: SovendusValidationError) => ConversionFailed;
  /** A redemption that cannot start, with its code when it has one. */
  failRedemption: (
    couponCode: string | undefined,
    error: SovendusValidationError,
  ) => RedemptionFailed;
}

/**
 * The order's codes, trimmed, without empty ones and repeats, in the order given; anything
 * that is not a string is kept for `redeemCoupon` to refuse, as it refuses such a code.
 */
function distinctCodes(couponCodes: unknown): Checked<unknown[]> {
  if (couponCodes === undefined) return valid([]);
  if (!Array.isArray(couponCodes)) {
    return invalid('couponCodes must be an array of voucher codes, e.g. ["SUMMER10"]');
  }
  const seen = new Set<string>();
  const codes: unknown[] = [];
  for (const code of couponCodes as unknown[]) {
    if (typeof code !== 'string') codes.push(code);
    else if (code.trim() !== '' && !seen.has(code.trim())) {
      seen.add(code.trim());
      codes.push(code.trim());
    }
  }
  if (codes.length > MAX_ORDER_CODES) {
    return invalid(`couponCodes may hold at most ${MAX_ORDER_CODES} distinct codes`);
  }
  return valid(codes);
}

/**
 * A redemption refused on its input says nothing of its code (a code that fails its check is
 * not repeated back by `redeemCoupon`); here the shop gave a list, and needs to know which of
 * its own codes each result is, so a code it gave as text is named.
 */
const withCode = (code: unknown, result: RedemptionResult): RedemptionResult =>
  result.couponCode === undefined && typeof code === 'string'
    ? { ...result, couponCode: code }
    : result;

const orderIdOf = (orderId: unknown): Checked<string | undefined> =>
  orderId === undefined
    ? invalid('orderId is required: completeOrder() reports one order')
    : checkOrderId(orderId);

/**
 * `req.sovendus.completeOrder()`: the session's conversion and each code's redemption, run
 * side by side through the deliveries a shop can also call one by one, so that they share
 * their claims (each order and code once, whichever way it was reported) and their bounds.
 */
export function createCompleteOrder<Session>(
  deps: CompleteOrderDeps<Session>,
): (session: Session, order: CompleteOrderOptions) => Promise<CompleteOrderResult> {
  const { completeSession, redeemCoupon, failConversion, failRedemption } = deps;

  return async (session, order) => {
    // Typed for TypeScript callers; checked for JavaScript ones, as complete() is.
    const given: unknown = order;
    if (typeof given !== 'object' || given === null) {
      const error = new SovendusValidationError([NOT_AN_ORDER]);
      return { conversion: failConversion(error), redemptions: [] };
    }
    const { couponCodes, ...fields } = given as Partial<
      Record<keyof CompleteOrderOptions, unknown>
    >;
    const orderId = orderIdOf(fields.orderId);
    // Coming (issue 14): the voucher code the session captured from a Sovendus link
    // (`sovCouponCode`) goes first, ahead of the order's own codes, here.
    const codes = distinctCodes(couponCodes);

    if (!orderId.ok) {
      // Nothing is sent without the order: a code's redemption without it would count for
      // every order that used the code.
      const error = new SovendusValidationError([orderId.problem]);
      const named = codes.ok ? codes.value : [];
      return {
        conversion: failConversion(error),
        redemptions:
          redeemCoupon === undefined
            ? []
            : named.map((code) =>
                failRedemption(typeof code === 'string' ? code : undefined, error),
              ),
      };
    }

    const conversion =
      completeSession === undefined
        ? Promise.resolve<ConversionResult>({ status: 'no_token' })
        : completeSession(session, { orderId: orderId.value });
    let redemptions: Promise<RedemptionResult[]>;
    if (redeemCoupon === undefined) redemptions = Promise.resolve([]);
    else if (!codes.ok) {
      const error = new SovendusValidationError([codes.problem]);
      redemptions = Promise.resolve([failRedemption(undefined, error)]);
    } else {
      redemptions = Promise.all(
        codes.value.map(async (couponCode) =>
          withCode(
            couponCode,
            await redeemCoupon({
              ...fields,
              couponCode,
              orderId: orderId.value,
            } as RedeemCouponOptions),
          ),
        ),
      );
    }
    const [conversionResult, redemptionResults] = await Promise.all([conversion, redemptions]);
    return { conversion: conversionResult, redemptions: redemptionResults };
  };
}
