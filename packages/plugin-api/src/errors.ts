export type PluginContractErrorCode = 'MTEPERM_PLUGIN_CONTRACT';

/** A value offered as a fault policy does not meet the contract of `types.ts`. */
export class PluginContractError extends Error {
  override readonly name = 'PluginContractError';
  readonly code: PluginContractErrorCode = 'MTEPERM_PLUGIN_CONTRACT';

  constructor(
    /** Where the value came from (a file, a package, a policy name). */
    readonly where: string,
    /** The member that is wrong (`name`, `version`, `decide`), or `''` for the value itself. */
    readonly field: string,
    /** What is wrong, without `where`. */
    readonly detail: string,
  ) {
    super(`${where}: ${detail}`);
  }
}
