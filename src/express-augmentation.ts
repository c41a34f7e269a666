import type { ConversionResult, RedemptionResult, SovendusRequestContext } from './types.js';

// Types `req.sovendus` and `res.locals.sovendus` in Express apps. (Connect apps read the same
// properties from Node's request and response objects.)
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `sovendus.capture()`: read the session's token or complete its conversion. */
      sovendus: SovendusRequestContext;
    }
    interface Locals {
      /** Set by `sovendus.convert()`: what became of this checkout's conversion. */
      sovendus?: ConversionResult;
      /** Set by `sovendus.convert({ order })`: what became of each of the order's voucher codes. */
      sovendusRedemptions?: RedemptionResult[];
    }
  }
}

export {};
