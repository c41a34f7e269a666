export {
  attemptsForWindow,
  BullMQDeliveryQueue,
  DEFAULT_QUEUE_NAME,
  type BullMQConnection,
  type BullMQConnectionOptions,
  type BullMQDeliveryQueueOptions,
} from './queue/bullmq-queue.js';
