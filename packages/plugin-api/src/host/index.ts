// The plugin host: loading, isolation (watchdog, built-ins snapshot, process guard), the sandbox.
export { callPolicy, trustPolicy, runUntrusted, DEFAULT_POLICY_BUDGET_MS, DEFAULT_LOAD_BUDGET_MS } from './policy-call';
export type { UntrustedResult } from './policy-call';
export type { PolicyCallResult } from './classify';
export { loadPolicies } from './load-policies';
export type { LoadPoliciesOptions, LoadedPolicies, PolicyLoadFailure } from './load-policies';
export { PolicyLoadError } from './load-error';
export type { PolicyLoadErrorCode } from './load-error';
export { PluginExitRefused } from './process-guard';
export { closeAllSandboxes, sandboxExecArgv, SANDBOX_STARTUP_LIMIT_MS } from './sandbox';
