export {
  attemptsForWindow,
  BullMQDeliveryQueue,
  DEFAULT_QUEUE_NAME,
  type BullMQConnection,
  type BullMQConnectionOptions,
  type BullMQDeliveryQueueOptions,
} from './queue/bullmq-queue.js';
export { DEAD_LETTER_ID, type DeadLetter, type DeadLettersHandled } from './queue/dead-letters.js';
export type { JobCounts, QueueFigures } from './queue/queue-figures.js';
