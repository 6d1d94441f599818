export type PolicyLoadErrorCode = 'MTEPERM_POLICY_LOAD';

/** A policy named on the CLI or in a scenario could not be loaded or does not meet the contract. */
export class PolicyLoadError extends Error {
  override readonly name = 'PolicyLoadError';
  readonly code: PolicyLoadErrorCode = 'MTEPERM_POLICY_LOAD';

  constructor(
    /** The policy as it was named. */
    readonly policy: string,
    detail: string,
    /** The file it resolved to, when it got that far. */
    readonly resolved?: string,
    options?: { cause?: unknown },
  ) {
    super(`policy '${policy}': ${detail}`, options);
  }
}
