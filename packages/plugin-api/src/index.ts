export type {
  FaultPolicy,
  FaultPolicyContext,
  PolicyDecision,
  PolicyDecisionKind,
  TagAccessFault,
  FaultMemslot,
  FaultStage2Entry,
  TagStorageView,
  PluginHook,
  PluginFailureReason,
} from './types';
export { definePolicy } from './define-policy';
export { assertFaultPolicy } from './assert-policy';
export { POLICY_DECISION_KINDS, DECISIONS, isPolicyDecisionKind } from './decisions';
export { PluginContractError } from './errors';
export type { PluginContractErrorCode } from './errors';
export { freezeFault, policyContext } from './views';
export type { PolicyContextFacts } from './views';
