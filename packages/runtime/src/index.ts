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
