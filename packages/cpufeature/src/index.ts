export { CpuFeatureError } from './errors';
export type { CpuFeatureErrorCode } from './errors';
export { getField, setField } from './field';
export type { NamedValue } from './field';
export {
  decodeIdAa64pfr1,
  encodeIdAa64pfr1,
  PFR1_MTE_SHIFT,
  PFR1_MTE_FRAC_SHIFT,
  MTE_NI,
  MTE_IMP,
  MTE_MTE2,
  MTE_MTE3,
  MTE_FRAC_ASYNC,
  MTE_FRAC_NI,
} from './id-aa64pfr1';
export type { IdAa64pfr1, MteField, MteFracField } from './id-aa64pfr1';
export {
  decodeIdAa64pfr2,
  encodeIdAa64pfr2,
  PFR2_MTEPERM_SHIFT,
  PFR2_MTESTOREONLY_SHIFT,
  PFR2_MTEFAR_SHIFT,
  PFR2_FPMR_SHIFT,
} from './id-aa64pfr2';
export type { IdAa64pfr2, ImpField } from './id-aa64pfr2';
export { decodeIdAa64mmfr2, encodeIdAa64mmfr2, MMFR2_FWB_SHIFT, MMFR2_NV_SHIFT, NV_NI, NV_NV, NV_NV2 } from './id-aa64mmfr2';
export type { IdAa64mmfr2, FwbField, NvField } from './id-aa64mmfr2';
export { cpuFromFeatures, isFeatureShorthand, FEATURE_SHORTHANDS } from './features';
export type { FeatureShorthand } from './features';
export { sanitise, sanitiseFieldValues, FTR_FIELDS } from './sanitise';
export type { FtrField, FtrPolicy, FtrMismatch, IdRegName, Sanitised } from './sanitise';
export { capabilities, tagCheckModes } from './capabilities';
export type { HostCapabilities, TagCheckModes } from './capabilities';
export { hostCpusFromSpec, parseRegister, probeHostCpus } from './host-cpus';
export type { CpuSpec } from './host-cpus';
export { guestIdRegs } from './guest-view';
export type { GuestIdRegs, GuestViewContext } from './guest-view';
export { evolveGuestView, guestIdRegsOf, initialGuestViewState } from './vm-view';
export type { GuestViewState, VmView } from './vm-view';
export { CpuFeatureAdapter, publishHostCpus } from './cpufeature-adapter';
