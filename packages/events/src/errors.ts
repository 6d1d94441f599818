/** Stable string codes of the events package; the CLI maps codes to exit statuses in one place. */
export type EventCodecErrorCode =
  | 'MTEPERM_EVENT_FIELD' // an edge value does not fit its schema field (wrong type or out of range)
  | 'MTEPERM_EVENT_DECODE' // bytes are not a valid envelope of this schema
  | 'MTEPERM_EVENT_SCHEMA'; // the envelope names a schema version this build cannot read

export class EventCodecError extends Error {
  override readonly name = 'EventCodecError';
  constructor(
    readonly code: EventCodecErrorCode,
    message: string,
  ) {
    super(message);
  }
}
