import { mkdtempSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@mteperm/log';
import { parseScenario } from '../scenario/load';
import type { KernelProfile } from '../scenario/types';
import { parse, stringify } from 'yaml';
import { scenarioYaml } from '../../test/fixtures/scenario-builder';
import { rebuildFromLog } from './rebuild';
import { formatResult } from './result';
import { recordScenario, runScenario } from './run-scenario';

/**
 * The cover letter's case (fixture cover-letter-vm: a VFIO BAR, write-back cacheable, next to RAM, MTE
 * on), with check_extension as step 1 and a write to RAM and an STG to the BAR as steps 7 and 8.
 */
function coverLetter(features = '[mte3, mte_perm, s2fwb, nv]', extra = ''): string {
  return scenarioYaml('cover-letter-vm', {
    features: features.replace(/[[\]\s]/g, '').split(',').filter((f) => f !== ''),
    after: { index: 0, steps: [{ check_extension: 'KVM_CAP_ARM_MTE_PERM' }] },
    steps: `  - access: { vcpu: 0, gpa: "0x80001000", op: write }\n  - access: { vcpu: 0, gpa: "0x10000040", op: stg }\n${extra}`,
  });
}

const run = (yaml: string, kernel?: KernelProfile) => runScenario(parseScenario(yaml, { file: 't.yaml' }), kernel === undefined ? {} : { kernel }).result;
const step = (r: ReturnType<typeof run>, i: number) => r.steps[i]!;

describe('runScenario: the cover letter case (DOMAIN B §1.1, A.2)', () => {
  it('v2: the BAR is accepted and mapped Normal WB + NoTagAccess (FWB 0b1110), RAM tagged; STG exits 39/0x10 with -EFAULT', () => {
    const r = run(coverLetter());
    expect(r.host).toEqual({ mte: 'MTE3', mte_perm: true, s2fwb: true, nv: true });
    expect(r.steps.slice(1, 7).map((s) => s['ret'])).toEqual([1, 0, 0, 0, 0, 0]);
    expect(step(r, 7)).toEqual({ index: 7, op: 'access', vcpu: 0, gpa: '0x80001000', access: 'write', outcome: 'ok', esr: '0x93c08045' }); // A.3.3: first touch, ISV 1, SAS 8, SF, WnR
    expect(step(r, 8)).toEqual({
      index: 8,
      op: 'access',
      vcpu: 0,
      gpa: '0x10000040',
      access: 'stg',
      outcome: 'exit',
      ret: -14,
      errno: 'EFAULT',
      exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x10000000', size: '0x1000', flags: '0x10' },
      esr: '0x92000045', // A.3.3: the BAR's first touch (translation fault, ISV 0 for a tag instruction)
    });
    // Descriptors by hand (DOMAIN B §4.1): valid|block, MemAttr<<2, S2AP RW (0xc0), SH IS (0x300),
    // AF (0x400), OA, XN (bit 54) because neither access was an exec.
    expect(r.stage2).toEqual([
      { ipa: '0x10000000', level: 2, size: '0x200000', pa: '0x40000000000', desc: '0x400400000007f9', memattr: '0b1110', notagaccess: true, tagged: false },
      { ipa: '0x80000000', level: 2, size: '0x200000', pa: '0x800000000', desc: '0x400008000007d9', memattr: '0b0110', notagaccess: false, tagged: true },
    ]);
  });

  it('v2 without FWB: NoTagAccess is MemAttr 0b0100 and Normal WB 0b1111 (DOMAIN A.2.3, B §4.2)', () => {
    const r = run(coverLetter('[mte3, mte_perm, nv]'));
    expect(r.stage2.map((l) => [l.ipa, l.memattr, l.desc])).toEqual([
      ['0x10000000', '0b0100', '0x400400000007d1'],
      ['0x80000000', '0b1111', '0x400008000007fd'],
    ]);
  });

  it('baseline: MTE_PERM is unknown (-EINVAL), the BAR memslot is refused -EINVAL, and the STG finds no memslot (DOMAIN A.1, B §5.1)', () => {
    const r = run(coverLetter(), 'baseline');
    expect(step(r, 1)).toEqual({ index: 1, op: 'check_extension', cap: 'KVM_CAP_ARM_MTE_PERM', ret: 0 });
    expect(step(r, 3)).toEqual({ index: 3, op: 'enable_cap', cap: 'KVM_CAP_ARM_MTE_PERM', ret: -22, errno: 'EINVAL' });
    expect(step(r, 5)).toEqual({ index: 5, op: 'set_user_memory_region', slot: 1, ret: -22, errno: 'EINVAL' });
    expect(step(r, 8)).toMatchObject({ outcome: 'error', ret: -38, errno: 'ENOSYS' });
    expect(r.stage2.map((l) => l.ipa)).toEqual(['0x80000000']);
  });

  it('v1: no capability, NoTagAccess anyway, and the STG exits KVM_EXIT_ARM_NOTAG_ACCESS (40) with KVM_RUN 0 (DOMAIN A.1)', () => {
    const r = run(coverLetter(), 'v1');
    expect(step(r, 3)).toMatchObject({ ret: -22, errno: 'EINVAL' });
    expect(step(r, 5)).toMatchObject({ ret: 0 });
    expect(step(r, 8)).toMatchObject({ outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_ARM_NOTAG_ACCESS', gpa: '0x10000000', size: '0x1000', flags: '0x0' } });
    expect(step(r, 8)).not.toHaveProperty('errno');
  });

  it('drop-check: the memslot is accepted and the first fault on the BAR exits 39/TAGACCESS, even for a plain read (DOMAIN A.1, B §5.4 row 10)', () => {
    const r = run(coverLetter('[mte3, mte_perm, s2fwb, nv]', '  - access: { vcpu: 0, gpa: "0x10002000", op: read }'), 'drop-check');
    expect(step(r, 5)).toMatchObject({ ret: 0 });
    expect(step(r, 9)).toMatchObject({ outcome: 'exit', ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x10002000', flags: '0x10' } });
    expect(r.stage2.map((l) => l.ipa)).toEqual(['0x80000000']);
  });

  it('v2 with a BAR that became disallowed after registration on a host without MTE_PERM: KVM_RUN -EFAULT, no exit (row 5)', () => {
    const yaml = `
name: swapped
host: { cpus: [{ features: [mte3, s2fwb] }] }
steps:
  - create_vm: {}
  - set_user_memory_region: { slot: 1, guest_phys_addr: "0x10000000", memory_size: "2MiB", backing: vfio-bar-wb }
  - enable_cap: KVM_CAP_ARM_MTE
  - create_vcpu: { id: 0 }
  - access: { vcpu: 0, gpa: "0x10000000", op: read }
`;
    const r = run(yaml);
    expect(step(r, 4)).toMatchObject({ outcome: 'error', ret: -14, errno: 'EFAULT' });
    expect(step(r, 4)).not.toHaveProperty('exit');
  });

  it('an access from a vCPU that was never created fails KVM_RUN -EBADF', () => {
    const doc = parse(coverLetter());
    doc.steps[6] = { create_vcpu: { id: 1 } }; // the accesses stay on vCPU 0
    const r = run(stringify(doc));
    expect(step(r, 7)).toMatchObject({ outcome: 'error', ret: -9, errno: 'EBADF' });
  });
});

describe('recording and replay (ARCHITECTURE "Events and log")', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mteperm-run-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('gives byte-identical JSON and log on every run', () => {
    const s = parseScenario(coverLetter(), { file: 't.yaml' });
    const a = recordScenario(s, join(dir, 'a.mtelog'));
    const b = recordScenario(s, join(dir, 'b.mtelog'));
    expect(readFileSync(join(dir, 'a.mtelog')).equals(readFileSync(join(dir, 'b.mtelog')))).toBe(true);
    expect(formatResult({ ...a.result, log: { ...a.result.log, path: 'x' } })).toBe(formatResult({ ...b.result, log: { ...b.result.log, path: 'x' } }));
    expect(a.result.log.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.result.log.events).toBe(a.outcome.events);
  });

  it('rebuild folds the log into the same state the run recorded', () => {
    const s = parseScenario(coverLetter(), { file: 't.yaml' });
    const path = join(dir, 'run.mtelog');
    const { outcome } = recordScenario(s, path);
    const report = rebuildFromLog(path);
    expect(report.damage).toBeUndefined();
    expect(report.events).toBe(outcome.events);
    expect(report.recordedSha256).toBe(outcome.stateSha256);
    expect(report.rebuiltSha256).toBe(outcome.stateSha256);
    expect(report.matches).toBe(true);
    expect(report.header.profile).toBe('v2');
    expect(report.runStarted?.scenario).toBe('cover-letter');
  });

  it('a torn log still replays its intact prefix and reports where the damage starts', () => {
    const s = parseScenario(coverLetter(), { file: 't.yaml' });
    const path = join(dir, 'torn.mtelog');
    const { outcome } = recordScenario(s, path);
    // Past the 45-byte end mark (log FORMAT.md, format 2) and 3 bytes into the last record.
    truncateSync(path, statSync(path).size - 45 - 3);
    const report = rebuildFromLog(path);
    expect(report.events).toBe(outcome.events - 1);
    expect(report.matches).toBeUndefined();
    expect(report.damage?.offset).toBeGreaterThan(0);
    expect(report.damage?.code).toBe('MTEPERM_LOG_TORN');
  });

  it('a log cut on a record boundary (its end mark gone) is unfinished, though every record reads', () => {
    const s = parseScenario(coverLetter(), { file: 't.yaml' });
    const path = join(dir, 'unfinished.mtelog');
    const { outcome } = recordScenario(s, path);
    truncateSync(path, statSync(path).size - 45);
    const report = rebuildFromLog(path);
    expect(report.events).toBe(outcome.events);
    expect(report.matches).toBe(true);
    expect(report.damage).toMatchObject({ code: 'MTEPERM_LOG_UNFINISHED', offset: statSync(path).size });
  });

  it('an end mark whose state hash differs from the recorded StateHashRecorded is MTEPERM_LOG_END at the mark', () => {
    const s = parseScenario(coverLetter(), { file: 't.yaml' });
    const path = join(dir, 'forged-mark.mtelog');
    const { outcome } = recordScenario(s, path);
    const bytes = readFileSync(path);
    const at = bytes.length - 45;
    // A well-formed mark (right count, right CRC) over another hash.
    const mark = Buffer.alloc(45);
    mark.writeBigUInt64LE(BigInt(outcome.events), 1);
    mark.fill(0x5a, 9, 41);
    mark.writeUInt32LE(crc32c(mark, 0, 41), 41);
    writeFileSync(path, Buffer.concat([bytes.subarray(0, at), mark]));
    const report = rebuildFromLog(path);
    expect(report.matches).toBe(true);
    expect(report.damage).toMatchObject({ code: 'MTEPERM_LOG_END', offset: at });
  });
});
