import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mtepermIn } from './in-process';

// `mteperm compare` (CONTRACT §2, §3.1), through main(argv, io) in this process.
let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'mteperm-compare-'));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(cwd, name);
  writeFileSync(p, text);
  return p;
}

const ESC = '\x1b[';

describe('compare --json (CONTRACT §3.1)', () => {
  it('the cover letter case under all four profiles: memslot, capability and STG exit differ as DOMAIN A.1 says', async () => {
    const r = await mtepermIn(cwd, ['compare', 'builtin:vfio-passthrough-mte', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(['scenario', 'kernels', 'results', 'differences']);
    expect(doc.scenario).toBe('vfio-passthrough-mte');
    expect(doc.kernels).toEqual(['baseline', 'v1', 'v2', 'drop-check']);
    expect(Object.keys(doc.results)).toEqual(doc.kernels);
    // Steps 1 (CHECK_EXTENSION MTE_PERM: 1 only under v2), 3 (its ENABLE_CAP), 5 (the BAR memslot), 8 (the STG).
    expect(doc.differences.map((d: { index: number }) => d.index)).toEqual([1, 3, 5, 8]);
    const memslot = doc.differences[2];
    expect(memslot).toEqual({
      index: 5,
      op: 'set_user_memory_region',
      by_kernel: {
        baseline: { op: 'set_user_memory_region', slot: 1, ret: -22, errno: 'EINVAL' },
        v1: { op: 'set_user_memory_region', slot: 1, ret: 0 },
        v2: { op: 'set_user_memory_region', slot: 1, ret: 0 },
        'drop-check': { op: 'set_user_memory_region', slot: 1, ret: 0 },
      },
    });
    const stg = doc.differences[3].by_kernel;
    expect(stg.baseline).toMatchObject({ outcome: 'error', ret: -38, errno: 'ENOSYS' });
    expect(stg.v1).toMatchObject({ outcome: 'exit', ret: 0, exit: { reason: 'KVM_EXIT_ARM_NOTAG_ACCESS', flags: '0x0' } });
    expect(stg.v2).toMatchObject({ outcome: 'exit', ret: -14, errno: 'EFAULT', exit: { reason: 'KVM_EXIT_MEMORY_FAULT', gpa: '0x10000000', size: '0x1000', flags: '0x10' } });
    expect(stg.v2).not.toHaveProperty('index');
  });

  it('each result is the run of that profile: same JSON as `run --kernel K` and the same log sha256', async () => {
    const cmp = JSON.parse((await mtepermIn(cwd, ['compare', 'builtin:wb-device-memory', '--json'])).stdout);
    for (const k of ['baseline', 'v1', 'v2', 'drop-check']) {
      const run = await mtepermIn(cwd, ['run', 'builtin:wb-device-memory', '--json', '--kernel', k, '--log', join(cwd, `${k}.mtelog`)]);
      const single = JSON.parse(run.stdout);
      expect(cmp.results[k].log.sha256).toBe(single.log.sha256);
      expect(cmp.results[k].log.events).toBe(single.log.events);
      expect(cmp.results[k].log.path).toBeNull();
      expect({ ...cmp.results[k], log: null }).toEqual({ ...single, log: null });
    }
  });

  it('--kernel chooses the profiles and their order; --log-dir keeps each log', async () => {
    const r = await mtepermIn(cwd, ['compare', 'builtin:heterogeneous-host', '--json', '--kernel', 'drop-check', 'v2', '--log-dir', cwd]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.kernels).toEqual(['drop-check', 'v2']);
    // One CPU of eight lacks FEAT_MTE_PERM (DOMAIN A.2.1): only drop-check accepts the BAR memslot.
    expect(doc.differences).toEqual([
      { index: 6, op: 'set_user_memory_region', by_kernel: { 'drop-check': { op: 'set_user_memory_region', slot: 1, ret: 0 }, v2: { op: 'set_user_memory_region', slot: 1, ret: -22, errno: 'EINVAL' } } },
    ]);
    expect(doc.results.v2.log.path).toBe(join(cwd, 'heterogeneous-host.v2.mtelog'));
    expect(readFileSync(join(cwd, 'heterogeneous-host.v2.mtelog')).subarray(0, 8).toString('latin1')).toBe('MTELOG\r\n');
  });

  it('one profile has nothing to differ from: no differences', async () => {
    const doc = JSON.parse((await mtepermIn(cwd, ['compare', 'builtin:virtiofs-dax', '--json', '--kernel', 'v2'])).stdout);
    expect(doc.kernels).toEqual(['v2']);
    expect(doc.differences).toEqual([]);
  });
});

describe('compare: the table for a person', () => {
  it('a row per differing step, a column per kernel; nothing coloured when not a terminal', async () => {
    const r = await mtepermIn(cwd, ['compare', 'builtin:vfio-passthrough-mte']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(ESC);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('vfio-passthrough-mte: 9 steps under baseline, v1, v2, drop-check; 4 steps differ');
    expect(lines[2]).toMatch(/^step +baseline +v1 +v2 +drop-check$/);
    const rows = lines.filter((l) => /^ {1,2}\d+ /.test(l));
    expect(rows.map((l) => l.trim().split(' ')[0])).toEqual(['1', '3', '5', '8']);
    expect(rows[2]).toMatch(/^ {2}5 set_user_memory_region slot 1 +-EINVAL +0 +0 +0$/);
    expect(rows[3]).toMatch(/8 access vcpu0 stg 0x10000040 +error -ENOSYS +exit ARM_NOTAG_ACCESS flags=0x0 +exit MEMORY_FAULT flags=0x10 -EFAULT +exit MEMORY_FAULT flags=0x10 -EFAULT/);
    expect(r.stdout).toContain('(5 steps alike under every kernel are hidden; --all shows them)');
  });

  it('--all shows every step', async () => {
    const r = await mtepermIn(cwd, ['compare', 'builtin:vfio-passthrough-mte', '--all']);
    const rows = r.stdout.split('\n').filter((l) => /^ {1,2}\d+ /.test(l));
    expect(rows).toHaveLength(9);
    expect(rows[0]).toMatch(/^ {2}0 create_vm +0 +0 +0 +0$/);
  });

  it('colours the differing cells on a terminal, and not with NO_COLOR', async () => {
    const saved = process.env['NO_COLOR'];
    const savedForce = process.env['FORCE_COLOR'];
    try {
      delete process.env['NO_COLOR'];
      delete process.env['FORCE_COLOR']; // .ci/run sets FORCE_COLOR=0, which also turns colour off
      const tty = await mtepermIn(cwd, ['compare', 'builtin:vfio-passthrough-mte'], { tty: true });
      expect(tty.stdout).toContain(`${ESC}31m-EINVAL`); // baseline's refused memslot, in red
      process.env['NO_COLOR'] = '1';
      const plain = await mtepermIn(cwd, ['compare', 'builtin:vfio-passthrough-mte'], { tty: true });
      expect(plain.stdout).not.toContain(ESC);
    } finally {
      if (saved === undefined) delete process.env['NO_COLOR'];
      else process.env['NO_COLOR'] = saved;
      if (savedForce === undefined) delete process.env['FORCE_COLOR'];
      else process.env['FORCE_COLOR'] = savedForce;
    }
  });

  it('tag-capable RAM only: every profile alike, said in one line', async () => {
    const file = write(
      'esr.yaml',
      [
        'name: esr-alike',
        'host: { cpus: [{ features: [mte3, mte_perm, s2fwb] }] }',
        'steps:',
        '  - create_vm: {}',
        '  - enable_cap: KVM_CAP_ARM_MTE',
        '  - set_user_memory_region: { slot: 0, guest_phys_addr: "0x80000000", memory_size: "2MiB", backing: anon }',
        '  - create_vcpu: { id: 0 }',
        '  - access: { vcpu: 0, gpa: "0x80000000", op: write }',
      ].join('\n'),
    );
    const r = await mtepermIn(cwd, ['compare', file]);
    expect(r.code).toBe(0);
    // Tag-capable RAM behaves alike under every profile (DOMAIN A.1): nothing differs.
    expect(r.stdout).toContain('0 steps differ');
    expect(r.stdout).toContain('every step gives the same result under every kernel');
  });
});

describe('compare: expect and bad input (CONTRACT §2)', () => {
  const scenario = (expectLine: string): string =>
    [
      'name: bar-expect',
      'kernel: v2',
      'host: { cpus: [{ features: [mte3, mte_perm, s2fwb] }] }',
      'steps:',
      '  - create_vm: {}',
      '  - enable_cap: KVM_CAP_ARM_MTE',
      '  - enable_cap: KVM_CAP_ARM_MTE_PERM',
      '  - set_user_memory_region: { slot: 1, guest_phys_addr: "0x10000000", memory_size: "16MiB", backing: vfio-bar-wb }',
      'expect:',
      expectLine,
    ].join('\n');

  it('expect is checked under the scenario\'s own kernel only: baseline\'s -EINVAL does not fail it', async () => {
    const file = write('ok.yaml', scenario('  - { index: 3, ret: 0 }'));
    const r = await mtepermIn(cwd, ['compare', file, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).results.baseline.steps[3]).toMatchObject({ ret: -22, errno: 'EINVAL' });
  });

  it('an expect that fails under its own kernel: one line naming it, and still exit 0 (CONTRACT §3.1)', async () => {
    const file = write('bad-expect.yaml', scenario('  - { index: 3, ret: -22 }'));
    const r = await mtepermIn(cwd, ['compare', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^mteperm: bar-expect \(kernel v2\): expect\[index 3\]: wanted \{"ret":-22\}, got .*\n$/);
  });

  it.each([
    ['a missing file', ['compare', '/nonexistent/x.yaml'], /nonexistent\/x\.yaml/],
    ['an unknown built-in', ['compare', 'builtin:nope'], /builtin:nope: no such built-in scenario/],
    ['an unknown profile', ['compare', 'builtin:vfio-passthrough-mte', '--kernel', 'v3'], /v3/],
  ])('%s: one line, exit 2', async (_what, args, message) => {
    const r = await mtepermIn(cwd, args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });

  it('a bad field: one line naming the file and the field, exit 2', async () => {
    const file = write('field.yaml', 'name: f\nhost: { cpus: [{ features: [mte3] }] }\nsteps:\n  - create_vm: { ipa_bits: "forty" }\n');
    const r = await mtepermIn(cwd, ['compare', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('field.yaml');
    expect(r.stderr).toContain('ipa_bits');
  });
});

describe('scenarios: the built-ins made to show a difference say so', () => {
  it('lists the compare note under the scenario, and as `compare` in --json', async () => {
    const text = (await mtepermIn(cwd, ['scenarios'])).stdout;
    expect(text).toMatch(/builtin:vfio-passthrough-mte .*\n +kernels differ \(mteperm compare builtin:vfio-passthrough-mte\): baseline refuses the BAR memslot/);
    const list = JSON.parse((await mtepermIn(cwd, ['scenarios', '--json'])).stdout) as { name: string; compare: string | null }[];
    expect(list.filter((s) => s.compare !== null).map((s) => s.name)).toEqual(['heterogeneous-host', 'migrate-no-mte-perm', 'vfio-passthrough-mte']);
    expect(list.find((s) => s.name === 'virtiofs-dax')?.compare).toBeNull();
  });
});
