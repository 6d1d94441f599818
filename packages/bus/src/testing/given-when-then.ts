import { expect } from '@jest/globals';
import type { Envelope, MteEvent, MteEventType } from '@mteperm/events';
import { EventBus } from '../event-bus';
import type { PublishContext } from '../event-bus';
import { readable } from './readable';

/** An event with the header context it is published under (`at({ vm: 1, vcpu: 0 }, event)`). */
export interface Placed {
  readonly event: MteEvent;
  readonly context: PublishContext;
}

/** What `given` and `when` take: an event (published under the spec's default context) or a placed one. */
export type Fact = MteEvent | Placed;

/** A given step: an event, or a call that publishes through the subject (an ioctl, `publishHostCpus`). */
export type Step<S> = Fact | ((s: Subject<S>) => unknown);

/** Publishes `event` from `context` instead of the spec's default (e.g. another vCPU). */
export function at(context: PublishContext, event: MteEvent): Placed {
  return { event, context };
}

/**
 * One expected event: its `type`, and only the parts a case cares about. `data` is compared whole
 * (`toEqual`, bigints shown as hex); `causedBy` names the event that caused it: `'when'` for the
 * event or call under test, or a type for the nearest earlier event of that type.
 */
export interface Expected {
  readonly type: MteEventType;
  readonly data?: unknown;
  readonly vm?: number;
  readonly vcpu?: number;
  readonly causedBy?: 'when' | MteEventType;
}

/** What the subject under test did: the events it caused and, for a call, what the call returned. */
export class Outcome<S, R> {
  /** Every event of the case up to the end of `when`, given ones included, in seq order. */
  readonly log: readonly Envelope[];

  constructor(
    readonly subject: S,
    readonly bus: EventBus,
    log: readonly Envelope[],
    /** seq of the `when` event (or of the last given event when `when` was a call). */
    readonly whenSeq: bigint,
    /** What a `when` call returned (undefined for a `when` event). */
    readonly result: R,
  ) {
    // A snapshot: delivery is synchronous, so every consequence of `when` is in already, and a later
    // `when` on the same Given does not change what this outcome says.
    this.log = log.slice();
  }

  /** The events published because of `when` (the `when` event itself left out). */
  get events(): readonly Envelope[] {
    return this.log.filter((e) => e.seq > this.whenSeq);
  }

  /** Asserts that `when` caused exactly these events, in this order. */
  then(...expected: readonly Expected[]): this {
    expectEvents(this.events, expected, { log: this.log, whenSeq: this.whenSeq });
    return this;
  }

  /** Asserts what a `when` call returned (bigints shown as hex). */
  returns(expected: unknown): this {
    expect(readable(this.result)).toEqual(readable(expected));
    return this;
  }

  /** Asserts the types of the caused events only, in order. */
  thenTypes(...types: readonly MteEventType[]): this {
    expect(this.events.map((e) => e.type)).toEqual(types);
    return this;
  }

  /** Further assertions on the subject, the result or the log. */
  and(check: (outcome: this) => void): this {
    check(this);
    return this;
  }

  /** seq of the nearest event of `type` before position `before` (the whole log when omitted). */
  seqOf(type: MteEventType, before = this.log.length): bigint {
    for (let i = before - 1; i >= 0; i--) if (this.log[i]!.type === type) return this.log[i]!.seq;
    throw new Error(`no ${type} in the log`);
  }
}

/**
 * Compares envelopes with expected events, showing bigints as hex. `log` (the whole case's log) lets
 * `causedBy` name an earlier event by type; without it only `'when'` with `whenSeq` resolves.
 */
export function expectEvents(
  actual: readonly Envelope[],
  expected: readonly Expected[],
  where: { readonly log?: readonly Envelope[]; readonly whenSeq?: bigint } = {},
): void {
  const log = where.log ?? actual;
  const shown = actual.map((e, i) => project(e, expected[i]));
  const wanted = expected.map((w, i) => {
    const out: Record<string, unknown> = { type: w.type };
    if ('data' in w) out['data'] = readable(w.data);
    if (w.vm !== undefined) out['vm'] = w.vm;
    if (w.vcpu !== undefined) out['vcpu'] = w.vcpu;
    if (w.causedBy !== undefined) {
      const before = actual[i] === undefined ? log.length : log.indexOf(actual[i]!);
      out['causedBy'] = readable(causeSeq(w.causedBy, log, before, where.whenSeq));
    }
    return out;
  });
  expect(shown).toEqual(wanted);
}

/** The parts of an envelope that the expected event names (all of its body when nothing is expected). */
function project(e: Envelope, want: Expected | undefined): Record<string, unknown> {
  if (want === undefined || want.type !== e.type) return { type: e.type, data: readable(e.data) };
  const got: Record<string, unknown> = { type: e.type };
  if ('data' in want) got['data'] = readable(e.data);
  if (want.vm !== undefined) got['vm'] = e.vm;
  if (want.vcpu !== undefined) got['vcpu'] = e.vcpu;
  if (want.causedBy !== undefined) got['causedBy'] = readable(e.causation);
  return got;
}

function causeSeq(cause: 'when' | MteEventType, log: readonly Envelope[], before: number, whenSeq: bigint | undefined): bigint {
  if (cause === 'when') {
    if (whenSeq === undefined) throw new Error("causedBy 'when' needs the seq of the when event");
    return whenSeq;
  }
  for (let i = before - 1; i >= 0; i--) if (log[i]!.type === cause) return log[i]!.seq;
  return -1n; // no such event: shown as -0x1n, so the case fails readably
}

/** What a `when` call is given: the bus and the subject attached to it. */
export interface Subject<S> {
  readonly bus: EventBus;
  readonly subject: S;
}

/** given(...) state of one case: the bus has the subject attached and the given events published. */
export class Given<S> {
  constructor(
    private readonly subject: S,
    private readonly bus: EventBus,
    private readonly log: Envelope[],
    private readonly context: PublishContext,
  ) {}

  /** More given events (a case that shares a prefix and adds its own). */
  given(...steps: readonly (Step<S> | readonly Step<S>[])[]): this {
    for (const step of steps.flat() as Step<S>[]) {
      if (typeof step === 'function') step({ bus: this.bus, subject: this.subject });
      else publish(this.bus, step, this.context);
    }
    return this;
  }

  /**
   * The event under test (published like a given one), or a call on the subject (an ioctl of the
   * uapi, a query): what it returns is the outcome's `result`.
   */
  when<R = undefined>(what: Fact | ((s: Subject<S>) => R)): Outcome<S, R> {
    if (typeof what === 'function') {
      const before = this.bus.seq;
      const result = what({ bus: this.bus, subject: this.subject });
      return new Outcome(this.subject, this.bus, this.log, before, result);
    }
    const envelope = publish(this.bus, what, this.context);
    return new Outcome(this.subject, this.bus, this.log, envelope.seq, undefined as R);
  }

  /** The subject as the given events left it (for a case whose `when` is a plain query). */
  get state(): S {
    return this.subject;
  }

  /** Every event so far. */
  get events(): readonly Envelope[] {
    return this.log;
  }
}

/**
 * A given/when/then specification of one domain package on a real bus (DOMAIN.md is the oracle; the
 * bus is the real one, so the order, seq and causation of events are what the run gives):
 *
 * ```ts
 * const pgtable = busSpec((bus) => attachPgtable(bus), { vm: 1 });
 * pgtable.given(hostProbed(), vmCreated()).when(at({ vm: 1, vcpu: 0 }, accessRequested(...)))
 *   .then({ type: 'Stage2FaultTaken', data: {...}, causedBy: 'when' });
 * ```
 */
export class BusSpec<S> {
  constructor(
    private readonly attach: (bus: EventBus) => S,
    private readonly context: PublishContext = {},
  ) {}

  /** A fresh bus with the subject attached, then these events published in order. */
  given(...steps: readonly (Step<S> | readonly Step<S>[])[]): Given<S> {
    const bus = new EventBus();
    const log: Envelope[] = [];
    bus.all().subscribe((e) => log.push(e));
    const subject = this.attach(bus);
    return new Given(subject, bus, log, this.context).given(...steps);
  }
}

/** A BusSpec of the subject that `attach` puts on a bus; `context` is the default header (e.g. `{ vm: 1 }`). */
export function busSpec<S>(attach: (bus: EventBus) => S, context: PublishContext = {}): BusSpec<S> {
  return new BusSpec(attach, context);
}

function publish(bus: EventBus, fact: Fact, context: PublishContext): Envelope {
  return 'event' in fact ? bus.publish(fact.event, { ...context, ...fact.context }) : bus.publish(fact, context);
}
