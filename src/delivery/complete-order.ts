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
import type { ConsumedCouponCode } from './claim-ledger.js';

/** The most distinct voucher codes one order may name: each is a call to Sovendus. */
const MAX_ORDER_CODES = 20;

const NOT_AN_ORDER =
  'completeOrder() takes an order object, { orderId, couponCodes?, orderValue?, ... }';

/** What an order's completion is made of: the two deliveries it runs, and how they fail. */
export interface CompleteOrderDeps<Session> {
  /** The session's conversion, as `complete()`; `undefined` without conversions. */
  completeSession:
    ((session: Session, options: CompleteOptions) => Promise<ConversionResult>) | undefined;
  /**
   * One code's redemption, as `redeemCoupon()`; `undefined` without the `coupons` option. With
   * `sessionKey`, the code is that session's, deleted from it once sent.
   */
  redeemCoupon:
    ((options: RedeemCouponOptions, sessionKey?: string) => Promise<RedemptionResult>) | undefined;
  /** The voucher code the session kept from a Sovendus link; never rejects. */
  capturedCouponCode: (session: Session) => Promise<ConsumedCouponCode | undefined>;
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
 * The voucher code of the session's Sovendus link goes first, ahead of the order's own codes,
 * as the browser script puts its cookie's code first.
 */
export function createCompleteOrder<Session>(
  deps: CompleteOrderDeps<Session>,
): (session: Session, order: CompleteOrderOptions) => Promise<CompleteOrderResult> {
  const { completeSession, redeemCoupon, capturedCouponCode, failConversion, failRedemption } =
    deps;

  /** The order's codes with the session's first, once each: the session's, then the rest. */
  const withLinked = (linked: ConsumedCouponCode | undefined, codes: readonly unknown[]) =>
    linked === undefined ? codes : codes.filter((code) => code !== linked.couponCode);

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
    const codes = distinctCodes(couponCodes);
    // Read while the conversion starts: without coupons there is nothing to redeem it with.
    const linked = redeemCoupon && capturedCouponCode(session);

    if (!orderId.ok) {
      // Nothing is sent without the order: a code's redemption without it would count for
      // every order that used the code.
      const error = new SovendusValidationError([orderId.problem]);
      const link = await linked;
      const named = [
        ...(link ? [link.couponCode] : []),
        ...withLinked(link, codes.ok ? codes.value : []),
      ];
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
    let redemptions: Promise<RedemptionResult[]> = Promise.resolve([]);
    if (redeemCoupon !== undefined) {
      const redeem = async (couponCode: unknown, sessionKey?: string) =>
        withCode(
          couponCode,
          await redeemCoupon(
            { ...fields, couponCode, orderId: orderId.value } as RedeemCouponOptions,
            sessionKey,
          ),
        );
      redemptions = (async () => {
        const link = await linked;
        const own = codes.ok
          ? withLinked(link, codes.value).map((code) => redeem(code))
          : [
              Promise.resolve(
                failRedemption(undefined, new SovendusValidationError([codes.problem])),
              ),
            ];
        return Promise.all([...(link ? [redeem(link.couponCode, link.sessionKey)] : []), ...own]);
      })();
    }
    const [conversionResult, redemptionResults] = await Promise.all([conversion, redemptions]);
    return { conversion: conversionResult, redemptions: redemptionResults };
  };
}
