import type { Attributes, Counter, Meter } from '@opentelemetry/api';
import type { SovendusError } from '../errors.js';
import type { SovendusEventHub } from '../events.js';

/** What every outcome counter's points carry: the outcome, and the error's code for a failure. */
type Outcome = 'sent' | 'duplicate' | 'no_token' | 'queued' | 'failed' | 'dead';

/** One attributes object per outcome without an error, made once: most points are these. */
const plain = (outcome: string): Attributes => Object.freeze({ 'sovendus.outcome': outcome });
const SENT = plain('sent');
const DUPLICATE = plain('duplicate');
const NO_TOKEN = plain('no_token');
const CAPTURED = plain('captured');
const REJECTED = plain('rejected');

/** An outcome with its error's code: a `SovendusErrorCode`, one of ten, so few series. */
const withError = (outcome: Outcome, error: SovendusError): Attributes => ({
  'sovendus.outcome': outcome,
  'error.type': error.code,
});

/**
 * Counts every fate of a conversion, a redemption and a capture, and every resend, from the
 * instance's events: where a fate is reported, it is counted, wherever it was decided (a
 * request, the queue's worker, a call that outlived its checkout). A conversion queued and
 * sent later counts once as `queued` and once as `sent`.
 */
export function countOutcomes(meter: Meter, events: SovendusEventHub): void {
  const counter = (name: string, unit: string, description: string) =>
    meter.createCounter(name, { unit, description });
  const conversions = counter(
    'sovendus.conversions',
    '{conversion}',
    'Conversions by outcome (sovendus.outcome), failures by code (error.type).',
  );
  const redemptions = counter(
    'sovendus.redemptions',
    '{redemption}',
    'Coupon redemptions by outcome (sovendus.outcome), failures by code (error.type).',
  );
  const captures = counter(
    'sovendus.captures',
    '{landing}',
    'Landings with a token: captured, rejected, or failed (by error.type).',
  );
  const resends = counter(
    'sovendus.resends',
    '{call}',
    'Calls sent again after an outcome that could not be known: each may count twice.',
  );
  const count = (counter: Counter, attributes: Attributes) => () => {
    counter.add(1, attributes);
  };
  const countWithError =
    (counter: Counter, outcome: Outcome) =>
    ({ error }: { error: SovendusError }) => {
      counter.add(1, withError(outcome, error));
    };

  events.on('captured', count(captures, CAPTURED));
  events.on('rejected', count(captures, REJECTED));
  events.on('sent', count(conversions, SENT));
  events.on('queued', countWithError(conversions, 'queued'));
  events.on('dead', countWithError(conversions, 'dead'));
  events.on('redeemed', count(redemptions, SENT));
  events.on('redemptionQueued', countWithError(redemptions, 'queued'));
  events.on('redemptionDead', countWithError(redemptions, 'dead'));
  events.on('noToken', count(conversions, NO_TOKEN));
  events.on('duplicate', ({ kind }) => {
    (kind === 'conversion' ? conversions : redemptions).add(1, DUPLICATE);
  });
  const byStage = { capture: captures, conversion: conversions, redemption: redemptions };
  events.on('failed', ({ stage, error }) => {
    byStage[stage].add(1, withError('failed', error));
  });
  events.on('resend', ({ kind, reason }) => {
    resends.add(1, { 'sovendus.kind': kind, 'sovendus.resend.reason': reason });
  });
}
