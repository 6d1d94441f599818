import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectOneLine, mteperm as inProcess } from './support/in-process';
import { builtinNames } from '../src/builtin';

// main(argv, io) in this process, with the case's own working folder (CONTRACT §2 through the same
// commander program the binary runs); what needs the real binary is in binary.spec.ts.
const GOLDEN = join(__dirname, 'golden');
const BUILTINS = builtinNames();

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'mteperm-cli-'));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

const mteperm = (...args: string[]) => inProcess(cwd, ...args);

function write(name: string, text: string): string {
  const p = join(cwd, name);
  writeFileSync(p, text);
  return p;
}

describe('mteperm run builtin:* (golden JSON, CONTRACT §3)', () => {
  it.each(BUILTINS)('builtin:%s gives its golden JSON and satisfies its own expect', async (name) => {
    const r = await mteperm('run', `builtin:${name}`, '--json', '--log', `${name}.mtelog`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const golden = join(GOLDEN, `${name}.json`);
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, r.stdout);
    expect(r.stdout).toBe(readFileSync(golden, 'utf8'));
    const doc = JSON.parse(r.stdout);
    expect(doc.log.path).toBe(`${name}.mtelog`);
    expect(existsSync(join(cwd, `${name}.mtelog`))).toBe(true);
  });

  it('is deterministic: two runs give byte-identical JSON and logs', async () => {
    const a = await mteperm('run', 'builtin:wb-device-memory', '--json', '--log', 'a.mtelog');
    const b = await mteperm('run', 'builtin:wb-device-memory', '--json', '--log', 'b.mtelog');
    expect(a.stdout.replace('a.mtelog', 'x')).toBe(b.stdout.replace('b.mtelog', 'x'));
    expect(readFileSync(join(cwd, 'a.mtelog')).equals(readFileSync(join(cwd, 'b.mtelog')))).toBe(true);
  });

  it('writes <name>.mtelog in the working folder by default and replaces an existing one', async () => {
    writeFileSync(join(cwd, 'vfio-passthrough-mte.mtelog'), 'old content');
    const r = await mteperm('run', 'builtin:vfio-passthrough-mte');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/8 {2}access vcpu0 stg 0x10000040 +exit KVM_EXIT_MEMORY_FAULT gpa=0x10000000 size=0x1000 flags=0x10; KVM_RUN -14 \(EFAULT\)/);
    expect(readFileSync(join(cwd, 'vfio-passthrough-mte.mtelog')).subarray(0, 8).toString('latin1')).toBe('MTELOG\r\n');
  });

  it('--kernel baseline on the cover letter case refuses the BAR memslot; its v2 expect is not checked, and stderr says so: exit 0 (issue 21 item 8)', async () => {
    const r = await mteperm('run', 'builtin:vfio-passthrough-mte', '--kernel', 'baseline', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.kernel).toBe('baseline');
    expect(doc.steps[5]).toEqual({ index: 5, op: 'set_user_memory_region', slot: 1, ret: -22, errno: 'EINVAL' });
    expect(r.stderr).toBe('mteperm: vfio-passthrough-mte: expect not checked: it is written for kernel v2, this run is --kernel baseline\n');
  });

  it.each([
    ['baseline', { ret: -22, errno: 'EINVAL' }, { outcome: 'error', ret: -38, errno: 'ENOSYS' }],
    ['v1', { ret: 0 }, { outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_ARM_NOTAG_ACCESS', gpa: '0x10000000', size: '0x1000', flags: '0x0' } }],
    ['v2', { ret: 0 }, { outcome: 'exit', ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x10000000', size: '0x1000', flags: '0x10' } }],
    ['drop-check', { ret: 0 }, { outcome: 'exit', ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x10000000', flags: '0x10' } }],
  ])('--kernel %s on the cover letter case: BAR memslot and STG as DOMAIN A.1 says', async (kernel, memslot, stg) => {
    const r = await mteperm('run', 'builtin:vfio-passthrough-mte', '--kernel', kernel, '--json', '--log', 'k.mtelog');
    const doc = JSON.parse(r.stdout);
    expect(doc.kernel).toBe(kernel);
    expect(doc.steps[5]).toMatchObject(memslot);
    expect(doc.steps[8]).toMatchObject(stg);
    // The built-in's own `expect` is written for v2 (flag 0x10): under another kernel it is not checked.
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(kernel === 'v2' ? '' : `mteperm: vfio-passthrough-mte: expect not checked: it is written for kernel v2, this run is --kernel ${kernel}\n`);
  });

  it('--svg draws the address-space map', async () => {
    const r = await mteperm('run', 'builtin:vfio-passthrough-mte', '--svg', 'map.svg');
    expect(r.code).toBe(0);
    const svg = readFileSync(join(cwd, 'map.svg'), 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('fill="#f9a825"'); // the NoTagAccess BAR leaf
    expect(svg).toContain('<title>step 8: stg at 10000040</title>');
  });
});

describe('replay and inspect', () => {
  it('replay rebuilds the state and matches the recorded hash', async () => {
    await mteperm('run', 'builtin:virtiofs-dax', '--log', 'v.mtelog');
    const r = await mteperm('replay', 'v.mtelog', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ log: 'v.mtelog', kernel: 'v2', producer: 'mteperm 0.1.0', scenario: 'virtiofs-dax', state: { matches: true }, damage: null });
    expect(doc.state.recorded_sha256).toBe(doc.state.rebuilt_sha256);
  });

  it('inspect shows memslots, leaves and exits rebuilt from the log', async () => {
    await mteperm('run', 'builtin:virtiofs-dax', '--log', 'v.mtelog');
    const doc = JSON.parse((await mteperm('inspect', 'v.mtelog', '--json')).stdout);
    expect(doc.memslots).toEqual([
      { slot: 0, guest_phys_addr: '0x80000000', memory_size: '0x10000000', flags: '0x0', backing: 'shmem', mte_allowed: true },
      { slot: 2, guest_phys_addr: '0x800000000', memory_size: '0x4000000', flags: '0x0', backing: 'file-shared', mte_allowed: false },
    ]);
    expect(doc.exits).toEqual([expect.objectContaining({ kind: 'exit', reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x800001000', size: '0x1000', flags: '0x10', ret: -14 })]);
    expect(doc.stage2.filter((l: { notagaccess: boolean }) => l.notagaccess).map((l: { ipa: string }) => l.ipa)).toEqual(['0x800000000', '0x800001000']);
  });

  it('a torn log: the readable prefix is replayed and reported, one line names the byte offset, exit 2', async () => {
    await mteperm('run', 'builtin:vfio-passthrough-mte', '--log', 't.mtelog');
    const bytes = readFileSync(join(cwd, 't.mtelog'));
    // 45 bytes of end mark (FORMAT.md, format 2), then 5 more: the cut falls inside the last record.
    writeFileSync(join(cwd, 't.mtelog'), bytes.subarray(0, bytes.length - 45 - 5));
    const r = await mteperm('replay', 't.mtelog', '--json');
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    // 24 events recorded (golden vfio-passthrough-mte.json): all but the torn last one replayed
    expect(doc.events).toBe(23);
    expect(doc.damage.code).toBe('MTEPERM_LOG_TORN');
    expectOneLine(r.stderr);
    expect(r.stderr).toBe(`mteperm: t.mtelog: byte ${doc.damage.offset}: ${doc.damage.reason} (the 23 events before it were replayed)\n`);
  });
});

describe('bad input: one line, exit 2, no stack trace (CONTRACT §2)', () => {
  const cases: Array<[string, () => string[], RegExp]> = [
    ['a missing file', () => ['run', 'nope.yaml'], /^mteperm: nope\.yaml: /],
    ['an unknown built-in', () => ['run', 'builtin:nope'], /^mteperm: builtin:nope: no such built-in scenario/],
    ['malformed YAML', () => ['run', write('bad.yaml', 'name: x\nsteps: [\n')], /^mteperm: .*bad\.yaml:\d+:\d+: /],
    [
      'an unknown step',
      () => ['run', write('s.yaml', 'name: x\nhost: { cpus: [{ features: [mte2] }] }\nsteps:\n  - reboot: {}\n')],
      /^mteperm: .*s\.yaml: steps\[0\]/,
    ],
    [
      'a bad number',
      () =>
        ['run', write('n.yaml', 'name: x\nhost: { cpus: [{ features: [mte2] }] }\nsteps:\n  - set_user_memory_region: { slot: 0, guest_phys_addr: "12abc", memory_size: "2MiB", backing: anon }\n')],
      /^mteperm: .*n\.yaml: steps\[0\]\.set_user_memory_region\.guest_phys_addr: /,
    ],
    ['an unknown kernel profile', () => ['run', 'builtin:virtio-pmem', '--kernel', 'v3'], /^error: option '--kernel <profile>' argument 'v3' is invalid/],
    ['an unknown option', () => ['run', 'builtin:virtio-pmem', '--frobnicate'], /^error: unknown option '--frobnicate'/],
    ['a log that is not a log', () => ['replay', write('x.mtelog', 'hello, this is not a log file')], /^mteperm: .*x\.mtelog: byte 0: /],
    ['a missing log', () => ['inspect', 'none.mtelog'], /^mteperm: none\.mtelog: no such log file/],
    ['a bad pool size', () => ['run', 'builtin:virtio-pmem', '--tag-pool-pages', '-3'], /^mteperm: --tag-pool-pages: '-3' is not a page count/],
  ];
  it.each(cases)('%s', async (_name, args, pattern) => {
    const r = await mteperm(...args());
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(pattern);
  });
});
