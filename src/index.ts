import './express-augmentation.js';

export { createSovendus, sovendusCapture, sovendusConvert } from './sovendus.js';
export { loadSovendusConfig, type SovendusEnvConfig } from './config/env.js';
export { MemoryTokenStore, type MemoryTokenStoreOptions } from './stores/memory-store.js';
export { RedisTokenStore, type RedisTokenStoreOptions } from './stores/redis-store.js';
export type { IoRedisClient, NodeRedisClient, RedisClient } from './stores/redis-clients.js';
export { MAX_TOKEN_LENGTH } from './conversion/token.js';
export {
  deliveryId,
  type DeliverQueued,
  type DeliveryQueue,
  type DeliveryVerdict,
  type QueuedConversion,
  type QueuedDelivery,
  type QueuedRedemption,
} from './queue/delivery-queue.js';
export {
  isSovendusError,
  SovendusError,
  SovendusInvalidApiKeyError,
  SovendusInvalidParametersError,
  SovendusNotFoundError,
  SovendusUnavailableError,
  SovendusConfigError,
  SovendusInvalidTokenError,
  SovendusStoreError,
  SovendusValidationError,
  SovendusInternalError,
  type SovendusErrorCode,
  type SovendusErrorDetails,
} from './errors.js';
export type {
  ClaimKeysOf,
  ClaimLease,
  ClaimOutcome,
  CompleteOptions,
  ConsumedToken,
  ConversionDuplicate,
  ConversionFailed,
  ConversionNoToken,
  ConversionQueued,
  ConversionResult,
  ConversionFacts,
  ConversionSent,
  ConvertOptions,
  CouponOptions,
  DeliveryDuplicate,
  DeliveryFailed,
  DeliveryQueued,
  DeliverySent,
  Middleware,
  RedeemCouponOptions,
  RedemptionDuplicate,
  RedemptionFacts,
  RedemptionFailed,
  RedemptionQueued,
  RedemptionResult,
  RedemptionSent,
  ResendEvent,
  ResendReason,
  RetryOptions,
  SendConversionOptions,
  SessionClaims,
  Sovendus,
  SovendusEvents,
  SovendusLogger,
  SovendusOptions,
  SovendusRequestContext,
  StoreBreakerOptions,
  StoredToken,
  TokenStore,
} from './types.js';
