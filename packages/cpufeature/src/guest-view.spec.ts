import { cpuFromFeatures } from './features';
import { guestIdRegs } from './guest-view';
import { sanitise } from './sanitise';

// A host with everything, plus fields the guest must never see: PFR1 BT=1, SSBS=2, MTE_frac=0,
// GCS=1, MTEX=1; PFR2 FPMR=1, MTEFAR=1, MTESTOREONLY=1 (sanitised values carry only described fields).
const host = sanitise([
  { ...cpuFromFeatures(['mte3', 'mte_perm', 's2fwb', 'nv']), id_aa64pfr1_el1: 0x0010_1000_0000_0321n, id_aa64pfr2_el1: 0x1_0000_0111n },
]).regs;

describe('guest view of the ID registers', () => {
  it.each([
    ['MTE field cleared without KVM_CAP_ARM_MTE (DOMAIN B §2.4)', { kvmHasMte: false, kvmHasMtePerm: false, vcpuHasEl2: false }, 0x0n, 0x1_0000_0000n],
    ['MTE3 visible once the VM has MTE (DOMAIN B §2.4)', { kvmHasMte: true, kvmHasMtePerm: false, vcpuHasEl2: false }, 0x300n, 0x1_0000_0000n],
    ['MTEPERM hidden from a non-EL2 vCPU even with kvm_has_mte_perm (DOMAIN A.2.8)', { kvmHasMte: true, kvmHasMtePerm: true, vcpuHasEl2: false }, 0x300n, 0x1_0000_0000n],
    ['MTEPERM hidden from an EL2 vCPU without kvm_has_mte_perm (DOMAIN A.2.8)', { kvmHasMte: true, kvmHasMtePerm: false, vcpuHasEl2: true }, 0x300n, 0x1_0000_0000n],
    ['MTEPERM = 1 for an EL2 vCPU with kvm_has_mte_perm (DOMAIN A.2.8)', { kvmHasMte: true, kvmHasMtePerm: true, vcpuHasEl2: true }, 0x300n, 0x1_0000_0001n],
  ])('%s', (_what, ctx, pfr1, pfr2) => {
    // MMFR2 (A.3.10): FWB [43:40] as the host; NV2 [27:24] only for an EL2 vCPU.
    const mmfr2 = ctx.vcpuHasEl2 ? 0x0000_0100_0200_0000n : 0x0000_0100_0000_0000n;
    expect(guestIdRegs(host, ctx)).toEqual({ id_aa64pfr1_el1: pfr1, id_aa64pfr2_el1: pfr2, id_aa64mmfr2_el1: mmfr2 });
  });

  it('always clears MTE_frac, SME, GCS, MTEX, NMI, THE, DF2, PFAR, RNDR_trap, MPAM_frac (DOMAIN B §2.4)', () => {
    const everything = { ...host, id_aa64pfr1_el1: 0xffff_ffff_fff0_f3ffn };
    // Left: BT [3:0], SSBS [7:4], MTE [11:8], RAS_frac [15:12], CSV2_frac [35:32], bits [23:20].
    expect(guestIdRegs(everything, { kvmHasMte: true, kvmHasMtePerm: false, vcpuHasEl2: false }).id_aa64pfr1_el1).toBe(0x0000_000f_00f0_f3ffn);
  });

  it('exposes only FPMR of PFR2, hiding MTESTOREONLY and MTEFAR (DOMAIN B §2.4 "We only expose FPMR")', () => {
    const noFpmr = { ...host, id_aa64pfr2_el1: 0x111n };
    expect(guestIdRegs(noFpmr, { kvmHasMte: true, kvmHasMtePerm: false, vcpuHasEl2: false }).id_aa64pfr2_el1).toBe(0n);
  });
});
