export { SAMPLE_EVENTS, SAMPLE_EVENT_LIST } from './sample-events';
export { thrownCode } from './thrown';
