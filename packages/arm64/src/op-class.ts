/**
 * What each guest access op does to memory (CONTRACT §1.3; DOMAIN A.2.5/A.2.6, C §3.4):
 * the data/instruction effect that stage-2 base permissions check, and the tag effect that
 * NoTagAccess checks.
 */
import type { AccessOp } from './vocabulary';

export type AccessClass =
  /** read / write: Tag Unchecked data accesses. */
  | 'data'
  /** exec: an instruction fetch (never reaches the NoTagAccess check, C §3.2). */
  | 'exec'
  /** LDG, LDGM: explicit Allocation Tag reads. */
  | 'tag_read'
  /** STG, ST2G, STGM, DC GVA, DC GZVA: explicit Allocation Tag writes (WnR = 1, C §3.4). */
  | 'tag_write'
  /** checked_read / checked_write: Tag Checked data accesses; their tag effect is a read. */
  | 'tag_checked';

export interface AccessEffect {
  readonly cls: AccessClass;
  /** Stage-2 base permission needed: S2AP read, S2AP write, or execute (XN clear). */
  readonly needs: 'r' | 'w' | 'x';
}

const EFFECTS: Readonly<Record<AccessOp, AccessEffect>> = {
  read: { cls: 'data', needs: 'r' },
  write: { cls: 'data', needs: 'w' },
  exec: { cls: 'exec', needs: 'x' },
  ldg: { cls: 'tag_read', needs: 'r' },
  ldgm: { cls: 'tag_read', needs: 'r' },
  stg: { cls: 'tag_write', needs: 'w' },
  st2g: { cls: 'tag_write', needs: 'w' },
  stgm: { cls: 'tag_write', needs: 'w' },
  // DC GVA writes tags only; C §3.4 and conformance row 6 give it WnR = 1 like the other tag writes.
  dc_gva: { cls: 'tag_write', needs: 'w' },
  dc_gzva: { cls: 'tag_write', needs: 'w' },
  checked_read: { cls: 'tag_checked', needs: 'r' },
  checked_write: { cls: 'tag_checked', needs: 'w' },
};

export function accessEffect(op: AccessOp): AccessEffect {
  return EFFECTS[op];
}

/** True for ops that touch allocation tags (explicitly or by a tag check). */
export function isTagOp(op: AccessOp): boolean {
  const cls = EFFECTS[op].cls;
  return cls === 'tag_read' || cls === 'tag_write' || cls === 'tag_checked';
}

/** Every op: data, fetch, tag reads, tag writes, tag-checked. */
export const ACCESS_OPS: readonly AccessOp[] = Object.keys(EFFECTS) as AccessOp[];

const opsOf = (pred: (e: AccessEffect) => boolean): ReadonlySet<AccessOp> => new Set(ACCESS_OPS.filter((op) => pred(EFFECTS[op])));

/** LDG, LDGM (C §3.4). */
export const TAG_READ_OPS: ReadonlySet<AccessOp> = opsOf((e) => e.cls === 'tag_read');
/** STG, ST2G, STGM, DC GVA, DC GZVA (C §3.4; DC GVA included, C §8 row 6). */
export const TAG_WRITE_OPS: ReadonlySet<AccessOp> = opsOf((e) => e.cls === 'tag_write');
/** The allocation-tag instructions (DOMAIN A.2.5): tag reads and tag writes. */
export const TAG_OPS: ReadonlySet<AccessOp> = opsOf((e) => e.cls === 'tag_read' || e.cls === 'tag_write');
/** Tag Checked data accesses (DOMAIN A.2.6). */
export const TAG_CHECKED_OPS: ReadonlySet<AccessOp> = opsOf((e) => e.cls === 'tag_checked');
/** Ops whose base permission is a write (S2AP W): stores, tag writes, checked stores. */
export const WRITE_OPS: ReadonlySet<AccessOp> = opsOf((e) => e.needs === 'w');

/** The plain data access (or fetch) whose stage-2 base permission `op` needs (C §3.4). */
export function baseOp(op: AccessOp): AccessOp {
  const needs = EFFECTS[op].needs;
  return needs === 'r' ? 'read' : needs === 'w' ? 'write' : 'exec';
}
