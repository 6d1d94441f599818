/**
 * A mirror of L0's stage 2 per VM, folded from pgtable's recorded events (HostCpusProbed, VmCreated,
 * Stage2Mapped / Stage2Relaxed / Stage2Unmapped / Stage2BlockSplit) into the architecture's table
 * format (@mteperm/arm64 `TranslationTable`). The events carry the descriptors as written, so the fold
 * needs no KVM policy and nested never imports pgtable (ARCHITECTURE: domain packages are independent).
 */
import type { Envelope } from '@mteperm/events';
import { DEFAULT_IPA_BITS, createTranslationTable, descFromBigInt, type Stage2Host, type TranslationTable } from '@mteperm/arm64';

export class L0Stage2Mirror {
  private hostCaps: Stage2Host = { fwb: false, mtePerm: false };
  private readonly tables = new Map<number, TranslationTable>();

  /** L0's stage 2 of `vm`, if the VM was created. */
  table(vm: number): TranslationTable | undefined {
    return this.tables.get(vm);
  }

  /** Folds one recorded event; others are ignored. */
  evolve(envelope: Envelope): void {
    switch (envelope.type) {
      case 'HostCpusProbed':
        this.hostCaps = {
          fwb: envelope.data.s2fwb,
          mtePerm: envelope.data.mte_perm,
          mteAsync: envelope.data.mte_async !== false,
          mteAsymm: envelope.data.mte_asym_fault !== false,
        };
        return;
      case 'VmCreated': {
        if (envelope.data.ret !== 0) return;
        const created = createTranslationTable({ ...this.hostCaps, ipaBits: envelope.data.ipa_bits || DEFAULT_IPA_BITS });
        if (created !== undefined) this.tables.set(envelope.vm, created);
        return;
      }
      case 'Stage2Mapped':
      case 'Stage2Relaxed': {
        const { lo, hi } = descFromBigInt(envelope.data.desc);
        this.tables.get(envelope.vm)?.installLeaf(Number(envelope.data.ipa), envelope.data.level, lo, hi);
        return;
      }
      case 'Stage2Unmapped':
        this.tables.get(envelope.vm)?.unmapRange(Number(envelope.data.ipa), Number(envelope.data.size));
        return;
      case 'Stage2BlockSplit': {
        const table = this.tables.get(envelope.vm);
        if (table === undefined) return;
        // An unmap that follows re-splits deterministically; split here only if still a block.
        const w = table.walk(Number(envelope.data.ipa), table.createWalkResult());
        if (w.found && w.level === envelope.data.level) table.splitBlock(Number(envelope.data.ipa));
        return;
      }
      default:
        return;
    }
  }
}
