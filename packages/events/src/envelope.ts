import type { MteEvent, MteEventType } from '../generated/union';

/** Fields every recorded event carries besides its body (ARCHITECTURE "Events and log"). */
export interface EventHeader {
  /** Dense position in the run, from 1. */
  readonly seq: bigint;
  readonly vm: number;
  /** vCPU id, or NO_VCPU. */
  readonly vcpu: number;
  /** seq of the event that caused this one, 0n for none. */
  readonly causation: bigint;
  readonly schema: number;
}

/** A recorded event: header plus the discriminated body (`type`, `data`). */
export type Envelope<E extends MteEvent = MteEvent> = EventHeader & E;

/** The envelope of one event type, e.g. `EnvelopeOf<'Stage2Mapped'>`. */
export type EnvelopeOf<T extends MteEventType> = Envelope<Extract<MteEvent, { type: T }>>;

/** The body of one event type, e.g. `EventData<'MemoryFaultExit'>`. */
export type EventData<T extends MteEventType> = Extract<MteEvent, { type: T }>['data'];
