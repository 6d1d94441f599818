export { loadScenarioFile, parseScenario } from './scenario/load';
export type { ParseScenarioOptions, ScenarioFormat } from './scenario/load';
export { ScenarioError } from './scenario/errors';
export type { ScenarioErrorCode } from './scenario/errors';
export { SCENARIO_LIMITS } from './scenario/limits';
export type {
  Scenario,
  KernelProfile,
  ScenarioHost,
  ScenarioCpu,
  ScenarioCpuFeatures,
  ScenarioCpuRegisters,
  CpuFeatureName,
  PolicyOptions,
  ScenarioExpectation,
  JsonValue,
  CapRef,
  BackingKind,
  ScenarioBacking,
  Stage2Attr,
  Stage2Ap,
  ScenarioStep,
  ScenarioStepOp,
  CreateVmStep,
  CheckExtensionStep,
  EnableCapStep,
  SetUserMemoryRegionStep,
  CreateVcpuStep,
  AccessStep,
  GuestStage2Step,
  GuestStage2Entry,
  MigrateStep,
  MteCopyTagsStep,
} from './scenario/types';
export { runScenario, recordScenario, PRODUCER } from './run/run-scenario';
export type { RunOptions, RunOutcome } from './run/run-scenario';
export { formatResult } from './run/result';
export type { ContractResult, StepResult, LeafResult, MigrationResultJson } from './run/result';
export { rebuildFromEventLog, rebuildFromLog } from './run/rebuild';
export { recordScenarioToLog, runLogHeader } from './run/event-log-run';
export type { RebuildReport, RebuildOptions } from './run/rebuild';
export { stage2Leaves, shadowStage2Leaves } from './run/leaves';
export type { Model } from './run/compose';
export { hex } from './run/hex';
// The kernel's exit-reason names, as the JSON result spells them (one mapping, the uapi's).
export { exitReasonName } from '@mteperm/uapi';
export { resolvePolicies } from './policy/resolve-policies';
export type { ResolvePoliciesOptions } from './policy/resolve-policies';
export { BUILTIN_POLICIES, BUILTIN_POLICY_NAMES } from './policy/builtins';
export { PolicyLoadError } from './policy/errors';
export type { PolicyLoadErrorCode } from './policy/errors';
export { redecideEventLog, redecideLog } from './replay/redecide';
export type { RedecideOptions, RedecideReport, RedecidedFault } from './replay/redecide';
export type { FaultHandling, FaultTotals } from './replay/fault-tally';
