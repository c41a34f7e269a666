import type { IncomingMessage, ServerResponse } from 'node:http';
import { SovendusConfigError } from '../errors.js';
import type { ConvertOptions, Middleware, SovendusRequestContext } from '../types.js';

type WithLocals = ServerResponse & { locals?: Record<string, unknown> };

/**
 * The checkout hook: completes the session's conversion, puts the result in
 * `res.locals.sovendus` and always goes on to the shop's handler, which decides what to show.
 */
export function createConvertMiddleware(
  contextOf: (req: IncomingMessage) => SovendusRequestContext,
  options: ConvertOptions = {},
): Middleware {
  const { orderId } = options;
  if (orderId !== undefined && typeof orderId !== 'function') {
    throw new SovendusConfigError('convert({ orderId }) must be a function (req) => orderId.');
  }

  return function sovendusConvert(req, res, next) {
    let id: string | number | undefined;
    try {
      id = orderId?.(req);
    } catch (error) {
      next(error); // the shop's own extractor failed: its error, for its error handler
      return;
    }
    void contextOf(req)
      .complete({ orderId: id })
      .then((result) => {
        // Express has res.locals; plain Connect does not, so we make it.
        ((res as WithLocals).locals ??= {}).sovendus = result;
        next();
      });
  };
}
