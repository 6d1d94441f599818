/**
 * Stage-2 data access permissions S2AP[1:0] at descriptor bits [7:6] (Arm ARM D8.4; DOMAIN B §4.1):
 * 0b00 none, 0b01 read-only, 0b10 write-only, 0b11 read/write.
 */
import { S2AP_R, S2AP_W } from './descriptor';

export type S2ap = 'none' | 'ro' | 'wo' | 'rw';

const S2AP_NAMES: readonly S2ap[] = ['none', 'ro', 'wo', 'rw'];

/** Decodes S2AP from the low half of a descriptor. */
export function decodeS2ap(lo: number): S2ap {
  return S2AP_NAMES[(lo >>> 6) & 0b11]!;
}

/** S2AP bits (already at [7:6]) for read/write permission. */
export function encodeS2ap(r: boolean, w: boolean): number {
  return (r ? S2AP_R : 0) | (w ? S2AP_W : 0);
}
