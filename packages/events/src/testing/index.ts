export { SAMPLE_EVENTS, SAMPLE_EVENT_LIST } from './sample-events';
export { thrownCode, thrownError } from './thrown';
