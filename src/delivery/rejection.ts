import type { SovendusError } from '../errors.js';

/** Input that cannot be delivered, and why: what a `failed` result and its log line say. */
export interface Rejection<Facts> {
  /** What is known of the delivery. */
  facts: Partial<Facts>;
  /** Log fields, with the token or code shortened. */
  logFields: Record<string, unknown>;
  /** Why it cannot be delivered (`INVALID_INPUT`, `INVALID_TOKEN`...). */
  error: SovendusError;
}
