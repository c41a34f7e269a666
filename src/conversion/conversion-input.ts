import { isProductId, PRODUCT_ID_RULE } from '../config/fields.js';
import {
  SovendusConfigError,
  SovendusInvalidTokenError,
  SovendusValidationError,
} from '../errors.js';
import type { Rejection } from '../delivery/rejection.js';
import { checkOrderId } from '../order-id.js';
import type { QueuedConversion } from '../queue/delivery-queue.js';
import type { ConversionFacts, SendConversionOptions } from '../types.js';
import { invalid, valid, type Checked } from '../validity.js';
import { checkToken, maskToken } from './token.js';

/** A conversion to send, or why its input cannot be one. */
export function checkConversion(
  input: SendConversionOptions,
  sessionKey: string | undefined,
  defaultProductId: string | undefined,
): Checked<QueuedConversion, Rejection<ConversionFacts>> {
  const checked = checkToken((input as Partial<SendConversionOptions> | undefined)?.token);
  if (!checked.ok) {
    return invalid({
      facts: {},
      logFields: {},
      error: new SovendusInvalidTokenError(checked.problem),
    });
  }
  const token = checked.value;
  const logFields = { token: maskToken(token) };
  const productId = input.productId ?? defaultProductId;
  if (productId === undefined || !isProductId(productId)) {
    const problem =
      productId === undefined
        ? 'sendConversion needs a productId when the productId option is a function'
        : `productId ${PRODUCT_ID_RULE}`;
    return invalid({ facts: { token }, logFields, error: new SovendusConfigError(`${problem}.`) });
  }
  const orderId = checkOrderId(input.orderId);
  if (!orderId.ok) {
    const error = new SovendusValidationError([orderId.problem]);
    return invalid({ facts: { token, productId }, logFields, error });
  }
  return valid({ kind: 'conversion', token, productId, orderId: orderId.value, sessionKey });
}
