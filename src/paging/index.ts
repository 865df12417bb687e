export {
  webhookBody,
  type IncidentEvent,
  type Notification,
  type NotificationAlert,
  type NotificationIncident,
  type Urgency,
} from './notification.js';
export {
  WebhookChannel,
  type DeliveryResult,
  type WebhookTarget,
  type WebhookChannelOptions,
} from './WebhookChannel.js';
export { Notifier } from './Notifier.js';
