// Messaging (/detr/msg/1): the event bus's send/onMessage with fire-and-forget or acknowledged
// delivery. The parts live in messaging/ (types, the sending service, the receiver, the outbox).
export {
  MSG_PROTOCOL,
  isHostile,
  type QosName,
  type SendOptions,
  type SendResult,
  type ReceivedMessage,
  type MessageHandler,
  type MessagingComponents,
  type MessagingInit,
  type MessagingStats,
  type Messaging,
} from './messaging/types.js';
export { createMessaging } from './messaging/service.js';
