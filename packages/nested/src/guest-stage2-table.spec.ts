import { checkStage2Leaf, decodeDescriptor } from '@mteperm/arm64';
import { GuestStage2Table } from './guest-stage2-table';
import { GuestTableMemory } from './guest-table-memory';

const memory = () => new GuestTableMemory(0x4000_0000, 0x4000_0000);

describe("the guest hypervisor's stage 2 in its own memory (DOMAIN B §6.1, C §5)", () => {
  it('places the root and the tables below it at the top of the first RAM memslot, and writes real descriptors there', () => {
    const mem = memory();
    const t = GuestStage2Table.create(mem, { fwb: false, mtePerm: true })!;
    expect(t.root).toBe(0x7fff_f000);
    const leaves = t.write(0x0, 0x4000_0000, 0x20_0000, { attr: 'normal_notagaccess', ap: 'rw' });
    // A 2 MiB block at level 2: valid, MemAttr 0b0100 (FWB=0 NoTagAccess), S2AP RW, SH IS, AF, OA.
    expect(leaves).toEqual([{ ipa: 0, level: 2, lo: 0x4000_07d1, hi: 0, at: 0x7fff_d000 }]);
    expect(mem.read64(0x7fff_f000)).toBe(0x7fff_e003n); // level 0 → table at 0x7fffe000
    expect(mem.read64(0x7fff_e000)).toBe(0x7fff_d003n); // level 1 → table at 0x7fffd000
    expect(mem.read64(0x7fff_d000)).toBe(0x4000_07d1n);
    expect(mem.usedPages).toBe(3);
  });

  it('encodes each attribute with L1\'s own FWB: 0b1111 / 0b0100 / 0b0001 without, 0b0110 / 0b1110 / 0b0001 with (DOMAIN B §4.2, A.2.8)', () => {
    const cases: Array<[boolean, 'normal' | 'normal_notagaccess' | 'device', 'rw' | 'ro' | 'none', bigint]> = [
      [false, 'normal', 'rw', 0x4000_07fdn],
      [false, 'normal_notagaccess', 'ro', 0x4000_0751n],
      [false, 'device', 'rw', 0x0040_0000_4000_07c5n], // XN for device
      [true, 'normal', 'none', 0x4000_0719n],
      [true, 'normal_notagaccess', 'rw', 0x4000_07f9n],
      [true, 'device', 'ro', 0x0040_0000_4000_0745n],
    ];
    for (const [fwb, attr, ap, desc] of cases) {
      const mem = memory();
      const t = GuestStage2Table.create(mem, { fwb, mtePerm: true })!;
      const [leaf] = t.write(0x20_0000, 0x4000_0000, 0x20_0000, { attr, ap });
      expect(mem.read64(leaf!.at)).toBe(desc);
      const d = decodeDescriptor(desc, 2, { fwb, mtePerm: true });
      expect(d.kind === 'block' && d.noTagAccess).toBe(attr === 'normal_notagaccess');
    }
  });

  it('walks like the hardware: block base, level and the access check of pgtable on L1\'s leaf (DOMAIN C §3.2)', () => {
    const t = GuestStage2Table.create(memory(), { fwb: false, mtePerm: true })!;
    t.write(0x4000_0000, 0x4000_0000, 0x4000_0000, { attr: 'normal', ap: 'ro' });
    const w = t.walk(0x4000_1234, t.createWalkResult());
    expect(w).toMatchObject({ found: true, level: 1, base: 0x4000_0000, size: 0x4000_0000 });
    // A write to an L1 read-only 1 GiB block: Permission fault at level 1, DFSC 0b001101, WnR.
    expect(checkStage2Leaf(w, { op: 'write' })).toMatchObject({ kind: 'fault', fault: 'permission', level: 1, esr: 0x93c0_804dn });
    // Unmapped: a translation fault at the level whose entry is invalid (level 1 here, DFSC 0b000101).
    expect(checkStage2Leaf(t.walk(0x8000_0000, t.createWalkResult()), { op: 'read' })).toMatchObject({ kind: 'fault', fault: 'translation', level: 1, esr: 0x93c0_8005n });
  });

  it('splits a block when part of it is rewritten, keeping the rest mapped; invalid entries unmap', () => {
    const t = GuestStage2Table.create(memory(), { fwb: false, mtePerm: true })!;
    t.write(0, 0x4000_0000, 0x20_0000, { attr: 'normal', ap: 'rw' });
    t.write(0x1000, 0x5000_0000, 0x1000, { attr: 'normal_notagaccess', ap: 'rw' });
    t.write(0x2000, 0, 0x1000, { attr: 'invalid', ap: 'rw' });
    const w = t.createWalkResult();
    expect(t.walk(0x0, w)).toMatchObject({ found: true, level: 3, lo: 0x4000_07ff });
    expect(t.walk(0x1000, w)).toMatchObject({ found: true, level: 3, lo: 0x5000_07d3 });
    expect(t.walk(0x2000, w)).toMatchObject({ found: false, level: 3 });
    expect(t.walk(0x3000, w)).toMatchObject({ found: true, level: 3, lo: 0x4000_37ff });
    const leaves: number[] = [];
    t.forEachLeaf((ipa) => leaves.push(ipa));
    expect(leaves).toHaveLength(511);
  });

  it('an entry written without AF takes an access-flag fault at its level (DOMAIN B §6.1)', () => {
    const t = GuestStage2Table.create(memory(), { fwb: false, mtePerm: true })!;
    t.write(0, 0x4000_0000, 0x1000, { attr: 'normal', ap: 'rw', af: false });
    expect(checkStage2Leaf(t.walk(0, t.createWalkResult()), { op: 'read' })).toMatchObject({ kind: 'fault', fault: 'access_flag', level: 3, esr: 0x93c0_800bn });
  });

  it('bounds the table pages a write may need, and reports exhausted memory as no room for the root', () => {
    expect(GuestStage2Table.pagesNeeded(0, 0x20_0000)).toBe(9);
    expect(GuestStage2Table.create(new GuestTableMemory(0x4000_0000, 0x800), { fwb: false, mtePerm: true })).toBeUndefined();
  });
});
