/**
 * The four kernel behaviours of DOMAIN A.1, chosen per run (RunStarted.kernel, the log header): one
 * vocabulary for every package that reads or writes the profile.
 */
export type KernelProfile = 'baseline' | 'v1' | 'v2' | 'drop-check';

export const KERNEL_PROFILES: readonly KernelProfile[] = ['baseline', 'v1', 'v2', 'drop-check'];

export function isKernelProfile(s: string): s is KernelProfile {
  return (KERNEL_PROFILES as readonly string[]).includes(s);
}
