import { SovendusInvalidParametersError, SovendusNotFoundError } from '../errors.js';
import type { ApiCall, ApiOutcome, ApiSender, SendWatcher } from '../http/api-sender.js';
import { transientFailure, unexpectedStatus } from '../http/response.js';
import type { Redemption } from '../queue/delivery-queue.js';

/** The coupon API of Sovendus, as the delivery service calls it. */
export interface CouponApi {
  /** Posts one redemption, retrying transient failures. Never rejects. */
  send(redemption: Redemption, watcher: SendWatcher): Promise<ApiOutcome>;
}

/** Maps a failed answer of the coupon API to a typed error, by the protocol's table. */
export const classifyCouponFailure: ApiCall['classifyFailure'] = (
  status,
  sovendusMessage,
  retryAfterMs,
) => {
  const details = { status, sovendusMessage };
  if (status === 404) {
    const message =
      'Sovendus answered 404 to the coupon redemption: the trafficSourceNumber is malformed ' +
      '(or coupons.apiBaseUrl is wrong): check coupons.trafficSourceNumber.';
    return { ok: false, error: new SovendusNotFoundError({ ...details, message }) };
  }
  if (status === 422) {
    const message =
      `Sovendus rejected the coupon redemption (422${sovendusMessage === undefined ? '' : `: ${sovendusMessage}`}): ` +
      'check the coupon code, order value and currency, and coupons.trafficMediumPublicId.';
    return { ok: false, error: new SovendusInvalidParametersError({ ...details, message }) };
  }
  if (status === 500) {
    // The coupon API answers 500 for a wrong traffic source or medium id: the retries run
    // their course (it may be real trouble), but the last word must point at the settings.
    const message =
      'Sovendus answered 500 to the coupon redemption: check coupons.trafficSourceNumber and ' +
      'coupons.trafficMediumPublicId (Sovendus answers 500 when either is wrong); if both are ' +
      'right, Sovendus has trouble and a later try can send it.';
    return transientFailure({ ...details, message }, retryAfterMs);
  }
  if (status === 429 || status > 500) return transientFailure(details, retryAfterMs);
  return unexpectedStatus(details, 'coupons.apiBaseUrl');
};

/** The `coupons` option, resolved, and the sender that makes the calls. */
export interface CouponApiOptions {
  trafficSourceNumber: string;
  trafficMediumPublicId?: string | undefined;
  apiBaseUrl: string;
  sender: ApiSender;
}

/**
 * `POST /redeem/{trafficSourceNumber}`, with the field names of the protocol. The traffic
 * source and medium are the redemption's own when it names them, else the option's.
 */
export function createCouponApi(options: CouponApiOptions): CouponApi {
  const { apiBaseUrl, sender } = options;
  // Validated digits; encoded anyway, like every part of a URL we build.
  const urlOf = (trafficSourceNumber: string) =>
    `${apiBaseUrl}/redeem/${encodeURIComponent(trafficSourceNumber)}`;
  const defaultUrl = urlOf(options.trafficSourceNumber);
  return {
    send: (redemption, watcher) => {
      const url =
        redemption.trafficSourceNumber === undefined
          ? defaultUrl
          : urlOf(redemption.trafficSourceNumber);
      return sender.send(
        {
          url,
          // JSON.stringify leaves out the fields that are undefined.
          body: JSON.stringify({
            coupon_code: redemption.couponCode,
            order_id: redemption.orderId,
            order_value: redemption.orderValue,
            order_currency: redemption.orderCurrency,
            email_hash: redemption.emailHash,
            traffic_medium_public_id:
              redemption.trafficMediumPublicId ?? options.trafficMediumPublicId,
          }),
          classifyFailure: classifyCouponFailure,
          baseUrlOption: 'coupons.apiBaseUrl',
          // The traffic source number is no secret (doctor shows it); the body, with the
          // order and the e-mail hash, is never shown.
          shown: () => ({ api: 'coupon', template: '/redeem/{trafficSourceNumber}', url }),
        },
        watcher,
      );
    },
  };
}
