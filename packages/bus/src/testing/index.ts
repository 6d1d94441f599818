export { busSpec, BusSpec, Given, Outcome, at, expectEvents } from './given-when-then';
export type { Expected, Fact, Placed, Step, Subject } from './given-when-then';
export { readable } from './readable';
export { accessRequested, ANON_VMA, capEnabled, hostProbed, mapRequested, memslotRegistered, runStarted, vcpuCreated, vmCreated } from './events';
export type { HostShape } from './events';
export { deciderSpec, Decided, DeciderGiven } from './decider';
export type { Decider } from './decider';
