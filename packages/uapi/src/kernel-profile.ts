import { isKernelProfile, KERNEL_PROFILES } from '@mteperm/events';
import type { KernelProfile } from '@mteperm/events';
import { UapiError } from './errors';

// The profile vocabulary (DOMAIN A.1) is the events package's; the uapi adds its default and parser.
export { isKernelProfile, KERNEL_PROFILES };
export type { KernelProfile };
export const DEFAULT_KERNEL_PROFILE: KernelProfile = 'v2';

export function parseKernelProfile(s: string): KernelProfile {
  if (!isKernelProfile(s)) throw new UapiError('MTEPERM_UAPI_KERNEL', `unknown kernel profile '${s}' (expected ${KERNEL_PROFILES.join(' | ')})`);
  return s;
}
