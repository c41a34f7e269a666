import './express-augmentation.js';

export { createSovendus, sovendusCapture, sovendusConvert } from './sovendus.js';
export { loadSovendusConfig, type SovendusEnvConfig } from './config/env.js';
export { MemoryTokenStore, type MemoryTokenStoreOptions } from './stores/memory-store.js';
export { RedisTokenStore, type RedisTokenStoreOptions } from './stores/redis-store.js';
export type { NodeRedisClient, RedisClient } from './stores/redis-clients.js';
export { MAX_TOKEN_LENGTH } from './token.js';
export type {
  DeliverQueued,
  DeliveryQueue,
  DeliveryVerdict,
  QueuedConversion,
} from './queue/delivery-queue.js';
export {
  SovendusError,
  SovendusInvalidApiKeyError,
  SovendusInvalidParametersError,
  SovendusNotFoundError,
  SovendusUnavailableError,
  SovendusConfigError,
  SovendusInvalidTokenError,
  SovendusStoreError,
  type SovendusErrorCode,
  type SovendusErrorDetails,
} from './errors.js';
export type {
  ClaimOutcome,
  CompleteOptions,
  ConsumedToken,
  ConversionDuplicate,
  ConversionFailed,
  ConversionNoToken,
  ConversionQueued,
  ConversionResult,
  ConversionSent,
  ConvertOptions,
  Middleware,
  RetryOptions,
  SendConversionOptions,
  Sovendus,
  SovendusEvents,
  SovendusLogger,
  SovendusOptions,
  SovendusRequestContext,
  StoredToken,
  TokenStore,
} from './types.js';
