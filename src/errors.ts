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
  | 'STORE_UNAVAILABLE';

export interface SovendusErrorDetails {
  /** HTTP status of Sovendus' answer, when there was one. */
  status?: number | undefined;
  /** The message Sovendus sent back, when there was one. */
  sovendusMessage?: string | undefined;
  cause?: unknown;
}

export class SovendusError extends Error {
  override readonly name: string = 'SovendusError';
  readonly code: SovendusErrorCode;
  readonly status: number | undefined;
  readonly retryable: boolean;
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
  }
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

/** 422: Sovendus does not know the product id or the token. Kept for inspection, never retried. */
export class SovendusInvalidParametersError extends SovendusError {
  override readonly name = 'SovendusInvalidParametersError';
  constructor(details: SovendusErrorDetails = {}) {
    super(
      'INVALID_PARAMETERS',
      `Sovendus rejected the product id or token (422${details.sovendusMessage === undefined ? '' : `: ${details.sovendusMessage}`}): check the product id and the token format.`,
      false,
      { status: 422, ...details },
    );
  }
}

/** 404: the request went to a URL Sovendus does not serve; usually a wrong `apiBaseUrl`. */
export class SovendusNotFoundError extends SovendusError {
  override readonly name = 'SovendusNotFoundError';
  constructor(details: SovendusErrorDetails = {}) {
    super('WRONG_URL', 'Sovendus answered 404 (wrong URL): check the apiBaseUrl option.', false, {
      status: 404,
      ...details,
    });
  }
}

/** 5xx, 429, a timeout or a network failure: Sovendus could not take the call now; try again later. */
export class SovendusUnavailableError extends SovendusError {
  override readonly name = 'SovendusUnavailableError';
  constructor(reason: string, details: SovendusErrorDetails = {}) {
    super(
      'UNAVAILABLE',
      `Sovendus is unavailable (${reason}); the token is kept and a later try can send it.`,
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

/** The token store (Redis) failed or did not answer in time. The token stays where it was. */
export class SovendusStoreError extends SovendusError {
  override readonly name = 'SovendusStoreError';
  constructor(operation: string, cause: unknown) {
    super(
      'STORE_UNAVAILABLE',
      `The Sovendus token store failed to ${operation}: ${cause instanceof Error ? cause.message : String(cause)}`,
      true,
      { cause },
    );
  }
}
