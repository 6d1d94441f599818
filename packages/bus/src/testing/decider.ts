import { expect } from '@jest/globals';
import { readable } from './readable';

/**
 * A domain package's pure core (STYLE "Deciders"): `decide(command, state) → events`,
 * `evolve(state, event) → state`, from `initialState()`.
 */
export interface Decider<C, S, E> {
  initialState(): S;
  decide(command: C, state: S): readonly E[];
  evolve(state: S, event: E): S;
}

/** What `when(command)` decided, on the state the given events left. */
export class Decided<S, E> {
  constructor(
    readonly state: S,
    readonly events: readonly E[],
  ) {}

  /** Asserts exactly these events, in order (bigints shown as hex). */
  then(...expected: readonly E[]): this {
    expect(readable(this.events)).toEqual(readable(expected));
    return this;
  }

  /** The one event decided (throws when there are none or several). */
  get event(): E {
    if (this.events.length !== 1) throw new Error(`expected one event, got ${this.events.length}`);
    return this.events[0]!;
  }
}

/** given(events) state of a decider case. */
export class DeciderGiven<C, S, E> {
  constructor(
    private readonly decider: Decider<C, S, E>,
    readonly state: S,
  ) {}

  /** More given events, folded with `evolve`. */
  given(...events: readonly E[]): DeciderGiven<C, S, E> {
    let s = this.state;
    for (const e of events) s = this.decider.evolve(s, e);
    return new DeciderGiven(this.decider, s);
  }

  /** A command in the past: decided on the state so far and its events folded (history as commands). */
  after(...commands: readonly C[]): DeciderGiven<C, S, E> {
    let g: DeciderGiven<C, S, E> = this;
    for (const c of commands) g = g.given(...this.decider.decide(c, g.state));
    return g;
  }

  when(command: C): Decided<S, E> {
    return new Decided(this.state, this.decider.decide(command, this.state));
  }
}

/**
 * given/when/then over a pure decider, without a bus (Emmett's DeciderSpecification): the same kit as
 * `busSpec`, one level down.
 */
export function deciderSpec<C, S, E>(decider: Decider<C, S, E>) {
  return {
    given: (...events: readonly E[]): DeciderGiven<C, S, E> => new DeciderGiven(decider, decider.initialState()).given(...events),
    /** Starts from a state built elsewhere. */
    from: (state: S): DeciderGiven<C, S, E> => new DeciderGiven(decider, state),
  };
}
