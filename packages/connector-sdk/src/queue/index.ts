/**
 * The RabbitMQ layer: a reconnecting session, the listen-queue consumer, the pipelined push publisher
 * and the push message format.
 */
export type { BackoffPolicy } from './backoff.js';
export {
  AmqpSession,
  type AmqpSessionEvents,
  type AmqpSessionOptions,
  type AmqpSessionState,
  amqpOptionsFromUrl,
  type ChannelRequest,
  type ConfirmChannelRequest,
} from './connection.js';
export {
  type Delivery,
  type DeliveryOutcome,
  ListenConsumer,
  type ListenConsumerCounters,
  type ListenConsumerEvents,
  type ListenConsumerOptions,
  type ListenConsumerStopOptions,
  type QueueMissingEvent,
} from './consumer.js';
export { buildPushMessage, largestObjectBytes, type PushMessage, type PushMessageMeta } from './message.js';
export {
  BundlePublisher,
  type BundlePublisherCounters,
  type BundlePublisherOptions,
  DEFAULT_MAX_MESSAGE_BYTES,
} from './publisher.js';
export type { QueueLogger } from './types.js';
