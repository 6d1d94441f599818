/**
 * The guest hypervisor's memory that holds its stage-2 table pages. Placement (the model's choice;
 * DOMAIN.md is silent): pages are taken downwards from the top of the VM's first RAM memslot (the
 * first registered memslot that is not PFNMAP), one 4 KiB page per table, in the order L1 needs them,
 * so every run places every table at the same L1 IPA. The pages are never handed back (a guest
 * hypervisor that keeps its table pages), which keeps replay a plain fold.
 */
import { PAGE_SIZE } from '@mteperm/arm64';

const WORDS_PER_PAGE = PAGE_SIZE / 4;

export class GuestTableMemory {
  private readonly pages = new Map<number, Uint32Array>();
  private next: number;

  /** `[base, base + size)`: the RAM memslot's L1 IPA range. */
  constructor(
    readonly base: number,
    readonly size: number,
  ) {
    this.next = base + size - (size % PAGE_SIZE);
  }

  /** Pages still free. */
  get freePages(): number {
    return Math.floor((this.next - this.base) / PAGE_SIZE);
  }

  /** Table pages handed out so far. */
  get usedPages(): number {
    return this.pages.size;
  }

  /** A fresh zeroed table page; its L1 IPA, or undefined when the memslot is exhausted. */
  allocate(): number | undefined {
    if (this.next - PAGE_SIZE < this.base) return undefined;
    this.next -= PAGE_SIZE;
    this.pages.set(this.next, new Uint32Array(WORDS_PER_PAGE));
    return this.next;
  }

  /** The words of the table page at L1 IPA `ipa` (page aligned), if it is a table page. */
  page(ipa: number): Uint32Array | undefined {
    return this.pages.get(ipa);
  }

  /** The 64-bit value at L1 IPA `ipa` (8-byte aligned) as L1 would read it; 0 outside table pages. */
  read64(ipa: number): bigint {
    const off = ipa % PAGE_SIZE;
    const p = this.pages.get(ipa - off);
    if (p === undefined) return 0n;
    const i = off >>> 2;
    return (BigInt(p[i + 1]!) << 32n) | BigInt(p[i]!);
  }

  /** Every table page's L1 IPA, ascending (for state digests). */
  pageAddresses(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }
}
