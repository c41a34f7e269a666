import type { IncomingMessage, ServerResponse } from 'node:http';
import { SovendusConfigError, SovendusInternalError } from '../errors.js';
import { describeThrown } from '../thrown.js';
import type {
  ConversionResult,
  ConvertOptions,
  Middleware,
  SovendusRequestContext,
} from '../types.js';
import type { FailCheckout } from './checkout-failure.js';

type WithLocals = ServerResponse & { locals?: Record<string, unknown> };

/**
 * The checkout hook: completes the session's conversion, puts the result in
 * `res.locals.sovendus` and always goes on to the shop's handler, which decides what to show.
 */
export function createConvertMiddleware(
  /** Attaches `req.sovendus` as the capture's `attach` does, and returns it. */
  attachAndGet: (req: IncomingMessage, res: ServerResponse) => SovendusRequestContext,
  failCheckout: FailCheckout,
  options: ConvertOptions = {},
): Middleware {
  const { orderId } = options;
  if (orderId !== undefined && typeof orderId !== 'function') {
    throw new SovendusConfigError('convert({ orderId }) must be a function (req) => orderId.');
  }

  async function checkout(req: IncomingMessage, res: ServerResponse): Promise<ConversionResult> {
    let id: unknown;
    try {
      // Awaited, so that it may be async (an order looked up in a database). Not bounded: it is
      // the shop's own code, which its handler would wait for as long.
      id = await orderId?.(req);
    } catch (error) {
      // A throw (of anything, `undefined` too) or a rejection of the shop's extractor is a
      // failed checkout, not an error page: the order goes through, and the token stays
      // stored, so a later checkout or sendConversion can still send it.
      return failCheckout(
        new SovendusConfigError(`convert({ orderId }) failed: ${describeThrown(error)}`),
      );
    }
    try {
      // Checked by complete(), as a value given there is.
      return await attachAndGet(req, res).complete({ orderId: id as string | number | undefined });
    } catch (error) {
      // complete() never rejects; were a bug to make it, the checkout would hang without this.
      return failCheckout(new SovendusInternalError(error));
    }
  }

  return function sovendusConvert(req, res, next) {
    void checkout(req, res).then((result) => {
      // Express has res.locals; plain Connect does not, so we make it.
      ((res as WithLocals).locals ??= {}).sovendus = result;
      next();
    });
  };
}
