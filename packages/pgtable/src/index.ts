export { Stage2PageTable } from './stage2-page-table';
export type { MapStats, RelaxOutcome, Stage2Observer, Stage2PageTableOptions, WalkResult } from './stage2-page-table';
export { encodeLeafAttrs } from './prot';
export type { LeafAttrs, Stage2Host, Stage2Prot } from './prot';
export { startLevelFor, MIN_IPA_BITS, MAX_IPA_BITS } from './vtcr';
export type { StartLevel } from './vtcr';
export { decodeMemAttr, encodeMemAttr, memAttrNoTagAccess, memTypeOf, S2_MEMATTR } from './memattr';
export type { Cacheability, DeviceType, MemAttr, MemAttrOptions } from './memattr';
export { S2_FWB_MEMATTR } from './fwb';
export { decodeS2ap } from './s2ap';
export type { S2ap } from './s2ap';
export { decodeEsr, encodeEsr, EC_DABT_LOW, EC_IABT_LOW, ESR_TAG_ACCESS_BIT } from './esr';
export type { FaultKind, Stage2AbortSyndrome } from './esr';
export { accessEffect, isTagOp } from './tag-access';
export type { AccessClass, AccessEffect } from './tag-access';
export { checkAccess } from './access-check';
export type { AccessOutcome, Stage2Access } from './access-check';
export { decodeDescriptor, stage2LeavesJson } from './leaf';
export type { DecodedDescriptor, Shareability, Stage2LeafJson } from './leaf';
export {
  descToBigInt,
  descFromBigInt,
  LEVEL_SIZE,
  DESC_VALID,
  DESC_TYPE,
  MEMATTR_SHIFT,
  MEMATTR_MASK,
  S2AP_R,
  S2AP_W,
  SH_INNER_SHAREABLE,
  DESC_AF,
  OA_LO_MASK,
  OA_HI_MASK,
  XN_HI,
  SW_SHIFT_HI,
  TWO_32,
} from './descriptor';
export { PgtableError, EINVAL, EAGAIN, ERANGE, ERRNO_NAME } from './errors';
export type { PgtableErrorCode, S2Result } from './errors';
export { MapReferenceStage2 } from './map-reference';
export { Stage2State, DEFAULT_IPA_BITS } from './stage2-state';
export { attachPgtable } from './bus-adapter';
export { benchMaps, benchWalks, benchReferenceWalks, bytesPerPage } from './bench';
export type { BenchFigure } from './bench';
