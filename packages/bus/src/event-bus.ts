import { Observable, Subject } from 'rxjs';
import { encodeAndDecodeEnvelopeInto, NO_VCPU } from '@mteperm/events';
import type { EncodedEnvelope, Envelope, EnvelopeOf, MteEvent, MteEventType } from '@mteperm/events';

/** Where an event is published from: its VM, vCPU and the event that caused it. */
export interface PublishContext {
  readonly vm?: number;
  /** vCPU id; NO_VCPU (the default) for VM-wide events. */
  readonly vcpu?: number;
  /** seq of the causing event; 0n (the default) for none. */
  readonly causation?: bigint;
}

/**
 * Receives every event once, encoded, in seq order, before any subscriber sees it: the event log
 * appends these bytes. `envelope` is the decoded, frozen form subscribers will get.
 */
export type EventSink = (bytes: Uint8Array, envelope: Envelope) => void;

export interface EventBusOptions {
  /** The log (or any recorder) that receives each encoded event. */
  readonly sink?: EventSink;
  /** seq of the last event already recorded (a bus continuing a log); default 0n. */
  readonly lastSeq?: bigint;
}

type Handler = (envelope: Envelope) => void;
const NO_CONTEXT: PublishContext = Object.freeze({});
interface NamedHandler {
  readonly name: string;
  readonly handler: Handler;
}

/**
 * The event bus every package talks through (ARCHITECTURE "Event flow").
 *
 * - `publish` gives the event the next dense `seq`, encodes it once (for the sink) and gives
 *   subscribers the frozen envelope those bytes decode to.
 * - Delivery is synchronous and first-in first-out: an event published by a subscriber is queued
 *   and delivered after the current event has reached every subscriber, so the order is the same on
 *   every run. When the outermost `publish` returns, every consequence has been delivered.
 * - A handler registered with `subscribe` that throws is reported as a `SubscriberFailed` event and
 *   delivery continues to the others.
 */
export class EventBus {
  private lastSeq: bigint;
  private readonly sink: EventSink | undefined;
  // Handlers per event type, in subscription order; arrays are copied on change, never mid-dispatch.
  private readonly handlers = new Map<MteEventType, readonly NamedHandler[]>();
  private readonly subjects = new Map<MteEventType, Subject<Envelope>>();
  private readonly everything = new Subject<Envelope>();
  private readonly queue: Envelope[] = [];
  private queueHead = 0;
  private dispatching = false;
  // Reused on every publish (the codec reads the header and fills the result before returning).
  private readonly header = { seq: 0n, vm: 0, vcpu: NO_VCPU, causation: 0n };
  private readonly encoded: EncodedEnvelope = { bytes: new Uint8Array(0), envelope: undefined as unknown as Envelope };

  constructor(options: EventBusOptions = {}) {
    this.sink = options.sink;
    this.lastSeq = options.lastSeq ?? 0n;
  }

  /** seq of the last published event (0n before the first). */
  get seq(): bigint {
    return this.lastSeq;
  }

  /** Publishes one event; returns its recorded envelope (frozen, with its seq). */
  publish<E extends MteEvent>(event: E, context: PublishContext = NO_CONTEXT): Envelope<E> {
    const seq = this.lastSeq + 1n;
    const header = this.header;
    header.seq = seq;
    header.vm = context.vm ?? 0;
    header.vcpu = context.vcpu ?? NO_VCPU;
    header.causation = context.causation ?? 0n;
    // One encode; the envelope is the one decoding the bytes would give, built without decoding.
    encodeAndDecodeEnvelopeInto(this.encoded, header, event);
    const envelope = this.encoded.envelope as Envelope<E>;
    this.lastSeq = seq;
    this.sink?.(this.encoded.bytes, envelope);
    this.queue.push(envelope);
    if (!this.dispatching) this.drain();
    return envelope;
  }

  /**
   * Registers a named handler for one event type. A throw is contained: it becomes a
   * `SubscriberFailed` event naming `name`, and the other handlers still run.
   */
  subscribe<T extends MteEventType>(name: string, type: T, handler: (envelope: EnvelopeOf<T>) => void): () => void {
    const entry: NamedHandler = { name, handler: handler as Handler };
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), entry]);
    return () => {
      this.handlers.set(type, (this.handlers.get(type) ?? []).filter((h) => h !== entry));
    };
  }

  /** Observable of one event type, for read-only observers (reports, tests). */
  on<T extends MteEventType>(type: T): Observable<EnvelopeOf<T>> {
    let subject = this.subjects.get(type);
    if (subject === undefined) {
      subject = new Subject<Envelope>();
      this.subjects.set(type, subject);
    }
    return subject.asObservable() as Observable<EnvelopeOf<T>>;
  }

  /** Observable of every event in seq order. */
  all(): Observable<Envelope> {
    return this.everything.asObservable();
  }

  /** Completes the observables; later publishes still reach `subscribe` handlers and the sink. */
  complete(): void {
    for (const s of this.subjects.values()) s.complete();
    this.everything.complete();
  }

  private drain(): void {
    this.dispatching = true;
    try {
      while (this.queueHead < this.queue.length) {
        const envelope = this.queue[this.queueHead++]!;
        this.deliver(envelope);
      }
    } finally {
      this.queue.length = 0;
      this.queueHead = 0;
      this.dispatching = false;
    }
  }

  private deliver(envelope: Envelope): void {
    const list = this.handlers.get(envelope.type);
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const h = list[i]!;
        try {
          h.handler(envelope);
        } catch (e) {
          this.reportFailure(h.name, envelope, e);
        }
      }
    }
    // Observables only when someone listens: an unobserved Subject still costs a call per event.
    if (this.subjects.size !== 0) this.subjects.get(envelope.type)?.next(envelope);
    if (this.everything.observed) this.everything.next(envelope);
  }

  private reportFailure(name: string, envelope: Envelope, error: unknown): void {
    // A failure while handling a failure report is not reported again: that could loop forever.
    if (envelope.type === 'SubscriberFailed') return;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.publish(
      { type: 'SubscriberFailed', data: { subscriber: name, event_seq: envelope.seq, event_kind: envelope.type, message } },
      { vm: envelope.vm, vcpu: envelope.vcpu, causation: envelope.seq },
    );
  }
}
