import { checkExtension, resolveCap } from './capability';
import { UapiError } from './errors';
import type { HostCaps } from './host';
import type { KernelProfile } from './kernel-profile';
import { HOSTS } from './testing/fixtures';

describe('KVM_CHECK_EXTENSION', () => {
  it.each<[string, number, HostCaps, KernelProfile, number]>([
    ['KVM_CAP_ARM_MTE (205) is 1 with ARM64_MTE (DOMAIN B §3.1)', 205, HOSTS.full, 'baseline', 1],
    ['KVM_CAP_ARM_MTE is 0 on a FEAT_MTE-only host: MTE2 is needed (DOMAIN B §2.2, §3.1)', 205, HOSTS.mte1, 'v2', 0],
    ['KVM_CAP_ARM_MTE is 1 under v1 too (DOMAIN A.1)', 205, HOSTS.full, 'v1', 1],
    ['KVM_CAP_ARM_MTE_PERM is 1 under v2 with MTE_PERM and MTE (DOMAIN A.2.1)', 239, HOSTS.full, 'v2', 1],
    ['KVM_CAP_ARM_MTE_PERM is 0 under v2 without FEAT_MTE_PERM (DOMAIN A.2.1)', 239, HOSTS.noPerm, 'v2', 0],
    ['KVM_CAP_ARM_MTE_PERM is 0 under v2 with MTEPERM but no ARM64_MTE (DOMAIN A.2.1)', 239, { mte: 1, mtePerm: true, s2fwb: false, nv: false }, 'v2', 0],
    ['KVM_CAP_ARM_MTE_PERM does not exist under baseline (DOMAIN A.1)', 239, HOSTS.full, 'baseline', 0],
    ['KVM_CAP_ARM_MTE_PERM does not exist under v1: no capability (DOMAIN A.1)', 239, HOSTS.full, 'v1', 0],
    ['KVM_CAP_ARM_MTE_PERM does not exist under drop-check (DOMAIN A.1)', 239, HOSTS.full, 'drop-check', 0],
    ['an unknown capability is 0', 1234, HOSTS.full, 'v2', 0],
  ])('%s', (_what, cap, host, kernel, want) => {
    expect(checkExtension(cap, host, kernel)).toBe(want);
  });

  it('resolves names and numbers symbolically, 239 for KVM_CAP_ARM_MTE_PERM (DOMAIN A.2.1)', () => {
    expect(resolveCap('KVM_CAP_ARM_MTE')).toEqual({ cap: 205, name: 'KVM_CAP_ARM_MTE' });
    expect(resolveCap('KVM_CAP_ARM_MTE_PERM')).toEqual({ cap: 239, name: 'KVM_CAP_ARM_MTE_PERM' });
    expect(resolveCap(239)).toEqual({ cap: 239, name: 'KVM_CAP_ARM_MTE_PERM' });
    expect(resolveCap(7)).toEqual({ cap: 7, name: '' });
  });

  it('refuses an unknown capability name with MTEPERM_UAPI_CAP', () => {
    expect(() => resolveCap('KVM_CAP_ARM_EL3')).toThrow(UapiError);
    expect(() => resolveCap('KVM_CAP_ARM_EL3')).toThrow(expect.objectContaining({ code: 'MTEPERM_UAPI_CAP', name: 'UapiError' }));
  });
});
