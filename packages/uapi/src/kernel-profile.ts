import { UapiError } from './errors';

/** The four kernel behaviours of DOMAIN A.1, chosen per run; `v2` is the default. */
export type KernelProfile = 'baseline' | 'v1' | 'v2' | 'drop-check';
export const KERNEL_PROFILES: readonly KernelProfile[] = ['baseline', 'v1', 'v2', 'drop-check'];
export const DEFAULT_KERNEL_PROFILE: KernelProfile = 'v2';

export function isKernelProfile(s: string): s is KernelProfile {
  return (KERNEL_PROFILES as readonly string[]).includes(s);
}

export function parseKernelProfile(s: string): KernelProfile {
  if (!isKernelProfile(s)) throw new UapiError('MTEPERM_UAPI_KERNEL', `unknown kernel profile '${s}' (expected ${KERNEL_PROFILES.join(' | ')})`);
  return s;
}
