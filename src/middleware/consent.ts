import type { IncomingMessage } from 'node:http';
import { refuseAsync } from '../callbacks.js';
import type { Log } from '../logging.js';
import { describeThrown } from '../thrown.js';

/** Why a landing's token was not stored for want of consent: `rejected` says it. */
export const NO_CONSENT = 'no consent: the consent option answered false';
const CONSENT_FAILED = 'no consent: the consent option did not answer true or false';

/**
 * Asks the shop's `consent(req)` before a token is stored: `undefined` when the visitor
 * consented, else the reason for `rejected`. A callback that throws, or answers anything but a
 * boolean (a promise, say: it runs on every tokened landing, which must not wait), is taken as no
 * consent, the safe side; that is a bug in the shop's code, logged at error level once.
 */
export function consentCheck(
  consent: ((req: IncomingMessage) => unknown) | undefined,
  log: Log,
): (req: IncomingMessage) => string | undefined {
  if (consent === undefined) return () => undefined;
  let logged = false;
  return (req) => {
    let problem: string;
    try {
      const answer = consent(req);
      refuseAsync(answer, 'consent', 'true or false');
      if (answer === true) return undefined;
      if (answer === false) return NO_CONSENT;
      problem = 'it answered neither true nor false';
    } catch (error) {
      problem = describeThrown(error);
    }
    if (!logged) {
      logged = true;
      log.error({}, `the consent option failed, taken as no consent: ${problem}`);
    }
    return CONSENT_FAILED;
  };
}
