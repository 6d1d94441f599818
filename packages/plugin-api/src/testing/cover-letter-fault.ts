import type { TagAccessFault } from '../types';

/**
 * A fresh, unfrozen fault: the cover letter's STG to a write-back cacheable VFIO BAR (DOMAIN B §1.1,
 * A.2.5). Internal to the package: the views spec freezes it itself, plugin authors get `tagAccessFault`.
 */
export function coverLetterFault(): TagAccessFault {
  return {
    vcpu: 0,
    ipa: 0x1000_0040n,
    op: 'stg',
    // EC 0x24 (data abort, lower EL), IL, WnR, DFSC permission fault level 3, ISS2.TagAccess (bit 41).
    esr: 0x0000_0200_9200_004fn,
    memslot: { slot: 1, guest_phys_addr: 0x1000_0000n, memory_size: 0x100_0000n, flags: 0 },
    backing: 'vfio-bar-wb',
    stage2: { level: 3 },
    nesting_level: 1,
  };
}
