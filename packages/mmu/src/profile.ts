// The profile vocabulary (DOMAIN A.1) is the events package's, shared by every package.
export { isKernelProfile, KERNEL_PROFILES } from '@mteperm/events';
export type { KernelProfile } from '@mteperm/events';
