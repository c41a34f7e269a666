import type { IncomingMessage, ServerResponse } from 'node:http';

/** The cookie Sovendus' browser script keeps the landing URL's token in. */
export const TOKEN_COOKIE = 'sovReqToken';

/** The cookie Sovendus' browser script keeps a voucher link's code in, named as the parameter. */
export const COUPON_COOKIE = 'sovCouponCode';

/** A host name that can stand in a `Domain` attribute: no port, no `;`, no IPv6 brackets. */
const DOMAIN = /^[A-Za-z0-9.-]{1,253}$/;

/**
 * The request's host name, as the browser script saw it in `location.hostname`: Express'
 * `req.hostname` where there is one (it honours the app's `trust proxy`), else the `Host`
 * header without its port. `undefined` when it cannot be a cookie's domain.
 */
function hostnameOf(req: IncomingMessage): string | undefined {
  const { hostname } = req as { hostname?: unknown };
  const host =
    typeof hostname === 'string' ? hostname : (req.headers.host ?? '').replace(/:\d*$/, '');
  return DOMAIN.test(host) ? host : undefined;
}

/**
 * Expires cookies that Sovendus' browser script set, so that it cannot report them again. The
 * script sets `name=value; secure; samesite=strict; domain=<location.hostname>; path=/`, and a
 * browser replaces a cookie only by one of the same name, domain and path: so the same
 * attributes, with `Max-Age=0`. The shop's own `Set-Cookie` headers are kept; once the headers
 * are sent it is too late, and nothing is done.
 *
 * Expired whether or not the request carries the cookie: a `SameSite=Strict` cookie is not sent
 * on a cross-site navigation, such as the return from a payment provider's page, which is where
 * many checkouts end, though the browser still holds it.
 */
export function expireCookies(
  req: IncomingMessage,
  res: ServerResponse | undefined,
  names: readonly string[],
): void {
  // A response without Node's header methods (a framework adapter's or a test's stand-in) is
  // left alone: clearing a cookie must never fail the checkout that asked for it.
  if (
    res === undefined ||
    res.headersSent ||
    typeof res.getHeader !== 'function' ||
    typeof res.setHeader !== 'function'
  ) {
    return;
  }
  const hostname = hostnameOf(req);
  const domain = hostname === undefined ? '' : `; Domain=${hostname}`;
  const expired = names.map(
    (name) => `${name}=; Max-Age=0; Path=/${domain}; Secure; SameSite=Strict`,
  );
  const set = res.getHeader('set-cookie');
  const kept = set === undefined ? [] : Array.isArray(set) ? set : [String(set)];
  try {
    res.setHeader('Set-Cookie', [...kept, ...expired]);
  } catch {
    // Headers sent meanwhile by a wrapper that does not say so: too late, as above.
  }
}
