/**
 * The architecture's names for what an access is and how memory is typed. `@mteperm/events` carries
 * the same unions on the wire (its `.proto` enums); packages that use both assert at compile time that
 * they are equal (packages/pgtable/src/vocabulary-check.ts), so neither can drift.
 */

/** A guest access: data, instruction fetch, allocation-tag instructions, tag-checked data (CONTRACT §1.3). */
export type AccessOp =
  | 'read'
  | 'write'
  | 'exec'
  | 'ldg'
  | 'stg'
  | 'st2g'
  | 'stgm'
  | 'ldgm'
  | 'dc_gva'
  | 'dc_gzva'
  | 'checked_read'
  | 'checked_write';

/** SCTLR_EL1.TCF: what a failed tag check does (DOMAIN A.2.6, A.3.8). */
export type Tcf = 'sync' | 'async' | 'asymm' | 'none';

/** How the guest's stage 1 maps the page: Tagged (MAIR 0xF0) or not (DOMAIN A.2.5). */
export type S1Attr = 'tagged' | 'untagged';

/** The memory types KVM writes at stage 2 (DOMAIN B §4.2). */
export type MemType = 'normal_wb' | 'normal_nc' | 'device_ngnre';
