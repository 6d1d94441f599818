export { EventBus } from './event-bus';
export type { EventBusOptions, EventSink, PublishContext } from './event-bus';
