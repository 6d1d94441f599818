/** Stable string codes of the cpufeature package; the CLI maps codes to exit statuses in one place. */
export type CpuFeatureErrorCode =
  | 'MTEPERM_CPU_FEATURE' // a `features` shorthand the contract does not define (CONTRACT §1.1)
  | 'MTEPERM_CPU_REGISTER' // a raw ID register value that is not a 64-bit hex or decimal string
  | 'MTEPERM_CPU_COUNT' // a host with no CPUs, or a `count` that is not a positive integer
  | 'MTEPERM_CPU_NO_HOST' // a guest-view query before HostCpusProbed was seen
  | 'MTEPERM_CPU_NO_VCPU'; // a guest-view query for a VM or vCPU that was never created

export class CpuFeatureError extends Error {
  override readonly name = 'CpuFeatureError';
  constructor(
    readonly code: CpuFeatureErrorCode,
    message: string,
    /** Where the bad value sits, e.g. `cpus[1].features[0]`. */
    readonly where?: string,
  ) {
    super(where === undefined ? message : `${where}: ${message}`);
  }
}
