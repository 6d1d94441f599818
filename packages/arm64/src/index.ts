export type { AccessOp, MemType, S1Attr, Tcf } from './vocabulary';
export {
  DESC_VALID,
  DESC_TYPE,
  MEMATTR_SHIFT,
  MEMATTR_MASK,
  S2AP_R,
  S2AP_W,
  SH_SHIFT,
  SH_MASK,
  SH_INNER_SHAREABLE,
  DESC_AF,
  OA_LO_MASK,
  OA_HI_MASK,
  XN_HI,
  SW_SHIFT_HI,
  SW_MASK_HI,
  PERM_LO_MASK,
  PERM_HI_MASK,
  TWO_32,
  MIN_BLOCK_LEVEL,
  PAGE_SIZE,
  PMD_SIZE,
  PUD_SIZE,
  LEVEL_SIZE,
  LEVEL_INV,
  levelSize,
  descToBigInt,
  descFromBigInt,
  outputAddress,
} from './descriptor';
export type { Level } from './descriptor';
export { decodeDescriptor } from './decode-descriptor';
export type { DecodedDescriptor, Shareability } from './decode-descriptor';
export { decodeMemAttr, encodeMemAttr, memAttrNoTagAccess, memTypeOf, S2_MEMATTR } from './memattr';
export type { Cacheability, DeviceType, MemAttr, MemAttrOptions } from './memattr';
export { S2_FWB_MEMATTR, FWB_STAGE1_NOTAGACCESS } from './fwb';
export { decodeS2ap, encodeS2ap } from './s2ap';
export type { S2ap } from './s2ap';
export {
  EC_DABT_LOW,
  EC_DABT_CUR,
  EC_IABT_LOW,
  EC_IABT_CUR,
  ESR_IL,
  ESR_ISV,
  ESR_SAS_SHIFT,
  ESR_SSE,
  ESR_SRT_SHIFT,
  ESR_SF,
  ESR_AR,
  instructionSyndromeBits,
  ESR_EA,
  ESR_WNR,
  ESR_ISS2_SHIFT,
  ESR_TAG_ACCESS_BIT,
  FSC_MASK,
  FSC_TRANSLATION,
  FSC_ACCESS_FLAG,
  FSC_PERMISSION,
  FSC_SEA,
  FSC_ALIGNMENT,
  faultStatusCode,
  encodeEsr,
  esrToBigInt,
  encodeInjectedAbort,
  decodeEsr,
} from './esr';
export type { DecodedEsr, FaultKind, InjectedAbortSyndrome, InstructionSyndrome, Stage2AbortSyndrome } from './esr';
export { ACCESS_OPS, TAG_OPS, TAG_READ_OPS, TAG_WRITE_OPS, TAG_CHECKED_OPS, WRITE_OPS, accessEffect, baseOp, isTagOp } from './op-class';
export type { AccessClass, AccessEffect } from './op-class';
export { checkStage2Access, checkStage2Leaf, validateSyndromeFields } from './access-check';
export type { Stage2AccessFault, Stage2AccessOk, Stage2AccessQuery, Stage2AccessResult, Stage2Leaf, Stage2LeafHalves } from './access-check';
export { ERRNO, errnoName, fail } from './errno';
export type { ErrnoName } from './errno';
export {
  KVM_EXIT_MMIO,
  KVM_EXIT_ARM_NISV,
  KVM_EXIT_MEMORY_FAULT,
  KVM_EXIT_ARM_NOTAG_ACCESS,
  KVM_EXIT_NAME,
  KVM_MEMORY_EXIT_FLAG_PRIVATE,
  KVM_MEMORY_EXIT_FLAG_TAGACCESS,
  KVM_CAP_ARM_MTE,
  KVM_CAP_ARM_MTE_PERM,
  KVM_CAP_ARM_NISV_TO_USER,
  KVM_MEM_LOG_DIRTY_PAGES,
  KVM_MEM_READONLY,
} from './kvm-uapi';
export {
  TranslationTable,
  createTranslationTable,
  stage2StartLevel,
  MIN_IPA_BITS,
  MAX_IPA_BITS,
  DEFAULT_IPA_BITS,
} from './translation-table';
export type { MapStats, Stage2Host, Stage2Observer, StartLevel, TranslationTableOptions, WalkResult } from './translation-table';
export { stage2LeavesJson } from './leaves-json';
export type { Stage2LeafJson } from './leaves-json';
