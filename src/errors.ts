import { withoutCommandArgs } from './command-args.js';

/**
 * Every failure this package reports is a {@link SovendusError}: one class to catch, a stable
 * `code` to switch on, the HTTP `status` when Sovendus answered, and `retryable` to say whether
 * trying the same conversion again later can succeed.
 */
export type SovendusErrorCode =
  | 'INVALID_API_KEY'
  | 'INVALID_PARAMETERS'
  | 'WRONG_URL'
  | 'UNAVAILABLE'
  | 'UNEXPECTED_STATUS'
  | 'INVALID_CONFIG'
  | 'INVALID_TOKEN'
  | 'INVALID_INPUT'
  | 'STORE_UNAVAILABLE'
  | 'INTERNAL';

/** What the error classes take besides their code: what Sovendus answered, and why. */
export interface SovendusErrorDetails {
  /** HTTP status of Sovendus' answer, when there was one. */
  status?: number | undefined;
  /** The message Sovendus sent back, when there was one. */
  sovendusMessage?: string | undefined;
  /** The underlying error, kept as the error's `cause`. */
  cause?: unknown;
  /** Replaces the default message: the same answer means different things in each Sovendus API. */
  message?: string | undefined;
}

/**
 * Marks every SovendusError, under a key shared by all copies of the package in a process
 * (`Symbol.for`): the CommonJS and the ESM build each have their own classes, so `instanceof`
 * fails across them, and so it does across two installed versions.
 */
const BRAND = Symbol.for('sovendus-express.SovendusError');

/**
 * The base class of every error the package reports: switch on `code`. Prefer
 * {@link isSovendusError} to `instanceof`, which fails for an error from the package's other
 * build (CommonJS or ESM) or another copy of it.
 */
export class SovendusError extends Error {
  override readonly name: string = 'SovendusError';
  /** Stable, to switch on. */
  readonly code: SovendusErrorCode;
  /** Sovendus' HTTP status, when it answered. */
  readonly status: number | undefined;
  /** Whether trying the same delivery again later can succeed. */
  readonly retryable: boolean;
  /** Sovendus' own message, a short excerpt without any piece of the API key. */
  readonly sovendusMessage: string | undefined;

  constructor(
    code: SovendusErrorCode,
    message: string,
    retryable: boolean,
    details: SovendusErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryable = retryable;
    this.status = details.status;
    this.sovendusMessage = details.sovendusMessage;
    // Not enumerable: it shows neither in the error's keys nor in a logged or inspected error.
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * Whether `value` is a {@link SovendusError} (of any subclass), and when `code` is given,
 * one with that code: `if (isSovendusError(error, 'STORE_UNAVAILABLE')) ...`. Unlike
 * `instanceof`, it also knows the errors of the package's other build: a shop whose code is
 * ESM while a dependency `require`s the package (or the other way round) gets errors of the
 * CommonJS classes, which `instanceof` with the ESM ones does not recognise.
 */
export function isSovendusError<Code extends SovendusErrorCode = SovendusErrorCode>(
  value: unknown,
  code?: Code,
): value is SovendusError & { readonly code: Code } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Partial<Record<typeof BRAND, unknown>>)[BRAND] === true &&
    (code === undefined || (value as SovendusError).code === code)
  );
}

/** 403: the API key is wrong or missing. A configuration error: retrying cannot help. */
export class SovendusInvalidApiKeyError extends SovendusError {
  override readonly name = 'SovendusInvalidApiKeyError';
  constructor(details: SovendusErrorDetails = {}) {
    super(
      'INVALID_API_KEY',
      'Sovendus rejected the API key (403): check SOVENDUS_API_KEY / the apiKey option.',
      false,
      { status: 403, ...details },
    );
  }
}

/**
 * 422: Sovendus refused the call's parameters (conversions: the product id or the token;
 * coupon redemptions: its validation message names the field). Never retried.
 */
export class SovendusInvalidParametersError extends SovendusError {
  override readonly name = 'SovendusInvalidParametersError';
  constructor(details: SovendusErrorDetails = {}) {
    super(
      'INVALID_PARAMETERS',
      details.message ??
        `Sovendus rejected the product id or token (422${details.sovendusMessage === undefined ? '' : `: ${details.sovendusMessage}`}): check the product id and the token format.`,
      false,
      { status: 422, ...details },
    );
  }
}

/**
 * 404: the request went to a URL Sovendus does not serve: a wrong `apiBaseUrl`, or for coupon
 * redemptions a malformed `trafficSourceNumber`.
 */
export class SovendusNotFoundError extends SovendusError {
  override readonly name = 'SovendusNotFoundError';
  constructor(details: SovendusErrorDetails = {}) {
    super(
      'WRONG_URL',
      details.message ?? 'Sovendus answered 404 (wrong URL): check the apiBaseUrl option.',
      false,
      { status: 404, ...details },
    );
  }
}

/** 5xx, 429, a timeout or a network failure: Sovendus could not take the call now; try again later. */
export class SovendusUnavailableError extends SovendusError {
  override readonly name = 'SovendusUnavailableError';
  constructor(reason: string, details: SovendusErrorDetails = {}) {
    super(
      'UNAVAILABLE',
      details.message ?? `Sovendus is unavailable (${reason}); a later try can send it.`,
      true,
      details,
    );
  }
}

/** Options or environment that cannot work; thrown at construction, before any request. */
export class SovendusConfigError extends SovendusError {
  override readonly name = 'SovendusConfigError';
  constructor(message: string) {
    super('INVALID_CONFIG', message, false);
  }
}

/** A token that fails validation; it is never stored and never sent. */
export class SovendusInvalidTokenError extends SovendusError {
  override readonly name = 'SovendusInvalidTokenError';
  constructor(reason: string) {
    super('INVALID_TOKEN', `Invalid Sovendus token: ${reason}.`, false);
  }
}

/**
 * Arguments of a call (such as `redeemCoupon`) that cannot be sent; nothing was sent or stored.
 * `problems` lists each one.
 */
export class SovendusValidationError extends SovendusError {
  override readonly name = 'SovendusValidationError';
  /** Every problem with the input, one message each. */
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('INVALID_INPUT', `Invalid input: ${problems.join('; ')}.`, false);
    this.problems = problems;
  }
}

/**
 * The token store (Redis) failed or did not answer in time. The token stays where it was.
 * Its `cause` is the store's error without the failed command's arguments, which hold the
 * token and the session id.
 */
export class SovendusStoreError extends SovendusError {
  override readonly name = 'SovendusStoreError';
  constructor(operation: string, cause: unknown) {
    super(
      'STORE_UNAVAILABLE',
      `The Sovendus token store failed to ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`,
      true,
      { cause: withoutCommandArgs(cause) },
    );
  }
}

/**
 * A failure the package did not foresee: a bug. The request went on regardless; what became of
 * the conversion is not known, and `cause` holds what went wrong. Please report it.
 */
export class SovendusInternalError extends SovendusError {
  override readonly name = 'SovendusInternalError';
  constructor(cause: unknown) {
    super(
      'INTERNAL',
      "sovendus-express failed unexpectedly (a bug: please report it with this error's cause).",
      false,
      { cause },
    );
  }
}
