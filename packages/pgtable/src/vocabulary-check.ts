/**
 * `@mteperm/arm64` and `@mteperm/events` spell the access vocabulary twice: the architecture's names
 * and the wire's `.proto` enums. This file fails the typecheck if they ever differ.
 */
import type * as Arch from '@mteperm/arm64';
import type * as Wire from '@mteperm/events';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export const VOCABULARY_AGREES: [
  Same<Arch.AccessOp, Wire.AccessOp>,
  Same<Arch.Tcf, Wire.Tcf>,
  Same<Arch.S1Attr, Wire.S1Attr>,
  Same<Arch.MemType, Wire.MemType>,
  Same<Arch.FaultKind, Wire.FaultKind>,
] = [true, true, true, true, true];
