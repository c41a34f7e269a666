export {
  attemptsForWindow,
  BullMQDeliveryQueue,
  DEFAULT_QUEUE_NAME,
  type BullMQDeliveryQueueOptions,
} from './queue/bullmq-queue.js';
