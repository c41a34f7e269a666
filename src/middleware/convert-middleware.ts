import type { IncomingMessage, ServerResponse } from 'node:http';
import { SovendusConfigError, SovendusInternalError, type SovendusError } from '../errors.js';
import { describeThrown } from '../thrown.js';
import type {
  CompleteOrderOptions,
  ConversionResult,
  ConvertOptions,
  Middleware,
  RedemptionResult,
  SovendusRequestContext,
} from '../types.js';
import type { FailCheckout } from './checkout-failure.js';

type WithLocals = ServerResponse & { locals?: Record<string, unknown> };

/** What a checkout leaves for the shop's handler; `redemptions` only with `order`. */
interface Checkout {
  conversion: ConversionResult;
  redemptions?: RedemptionResult[];
}

/**
 * The checkout hook: completes the session's conversion (with `order`, the whole order),
 * puts the result in `res.locals.sovendus` (and `res.locals.sovendusRedemptions`) and always
 * goes on to the shop's handler, which decides what to show.
 */
export function createConvertMiddleware(
  /** Attaches `req.sovendus` as the capture's `attach` does, and returns it. */
  attachAndGet: (req: IncomingMessage, res: ServerResponse) => SovendusRequestContext,
  failCheckout: FailCheckout,
  options: ConvertOptions = {},
): Middleware {
  const { orderId, order } = options;
  if (orderId !== undefined && typeof orderId !== 'function') {
    throw new SovendusConfigError('convert({ orderId }) must be a function (req) => orderId.');
  }
  if (order !== undefined && typeof order !== 'function') {
    throw new SovendusConfigError('convert({ order }) must be a function (req) => order.');
  }
  if (orderId !== undefined && order !== undefined) {
    throw new SovendusConfigError(
      'convert() takes either orderId or order, not both: the order carries its orderId.',
    );
  }
  const extractor = order ?? orderId;
  const option = order === undefined ? 'orderId' : 'order';
  // Whatever fails before anything is sent: with `order`, its codes were not redeemed either.
  const failed = (error: SovendusError): Checkout => {
    const conversion = failCheckout(error);
    return order === undefined ? { conversion } : { conversion, redemptions: [] };
  };

  async function checkout(req: IncomingMessage, res: ServerResponse): Promise<Checkout> {
    let value: unknown;
    try {
      // Awaited, so that it may be async (an order looked up in a database). Not bounded: it is
      // the shop's own code, which its handler would wait for as long.
      value = await extractor?.(req);
    } catch (error) {
      // A throw (of anything, `undefined` too) or a rejection of the shop's extractor is a
      // failed checkout, not an error page: the order goes through, and the token stays
      // stored, so a later checkout or sendConversion can still send it.
      return failed(
        new SovendusConfigError(`convert({ ${option} }) failed: ${describeThrown(error)}`),
      );
    }
    try {
      // Checked by complete() and completeOrder(), as a value given there is.
      const context = attachAndGet(req, res);
      if (order !== undefined) return await context.completeOrder(value as CompleteOrderOptions);
      return { conversion: await context.complete({ orderId: value as string | undefined }) };
    } catch (error) {
      // Neither rejects; were a bug to make one, the checkout would hang without this.
      return failed(new SovendusInternalError(error));
    }
  }

  return function sovendusConvert(req, res, next) {
    void checkout(req, res).then(({ conversion, redemptions }) => {
      // Express has res.locals; plain Connect does not, so we make it.
      const locals = ((res as WithLocals).locals ??= {});
      locals.sovendus = conversion;
      if (redemptions !== undefined) locals.sovendusRedemptions = redemptions;
      next();
    });
  };
}
