/**
 * Hostile input through the CLI (issue 11; CONTRACT §2: exit 2 with one line on stderr naming file
 * and field or byte offset for bad input, never a hang, a crash or a stack trace). The cases call
 * main(argv, io) in process with their own working folder; the 10^6-step runs and the hostile plugins
 * run through the real binary (their time and memory are the point; freeze.cjs changes a process for good).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BIN, mteperm as inProcess, spawnMteperm } from './support/in-process';
import type { Ran } from './support/in-process';

const PLUGINS = resolve(__dirname, '../../../packages/runtime/test/reliability/plugins');
jest.setTimeout(60_000);

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'mteperm-hostile-'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const figures: Record<string, { code: number; ms: number; rssMb?: number }> = {};
afterAll(() => {
  if (process.env['MTEPERM_PROPS_REPORT'] === '1') process.stdout.write(`hostile figures: ${JSON.stringify(figures)}\n`);
});

/** `mteperm ...args` in process, its wall time kept as a figure under `label`. */
async function mteperm(label: string, args: string[]): Promise<Ran> {
  const r = await inProcess(cwd, ...args);
  figures[label] = { code: r.code, ms: r.ms };
  return r;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/**
 * The real binary under a timeout, and under /usr/bin/time -v for its peak RSS when available: for the
 * 10^6-step runs, whose time and memory are the point (and which run about twice as fast in a process
 * of their own as inside a Jest worker's vm context).
 */
function spawned(label: string, args: string[], timeoutMs: number): Ran {
  const argv = [process.execPath, BIN, ...args];
  const t0 = Date.now();
  const options = { cwd, encoding: 'utf8' as const, timeout: timeoutMs, maxBuffer: 1 << 30, env: { ...process.env, MTEPERM_DEBUG: '' } };
  const r = TIME === undefined ? spawnSync(argv[0]!, argv.slice(1), options) : spawnSync(TIME, ['-v', ...argv], options);
  const ms = Date.now() - t0;
  let stderr = r.stderr ?? '';
  let rssMb: number | undefined;
  if (TIME !== undefined) {
    const exited = stderr.indexOf('Command exited with non-zero status');
    const at = exited >= 0 ? exited : stderr.indexOf('\tCommand being timed:');
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
    if (m) rssMb = Math.round(Number(m[1]) / 1024);
    if (at >= 0) stderr = stderr.slice(0, at);
  }
  figures[label] = { code: r.status ?? -1, ms, ...(rssMb === undefined ? {} : { rssMb }) };
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr, ms };
}

function write(name: string, text: string | Buffer): string {
  writeFileSync(join(cwd, name), text);
  return name;
}

/** Exit 2 and one line on stderr that starts with `mteperm: ` and has no stack trace (CONTRACT §2). */
function expectBadInput(r: Ran, line: RegExp): void {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr.trimEnd()).toMatch(line);
  expect(r.code).toBe(2);
}

const HOST = { cpus: [{ count: 1, features: ['mte3', 'mte_perm', 's2fwb'] }] };
const PREFIX = [{ create_vm: { ipa_bits: 40 } }, { enable_cap: 'KVM_CAP_ARM_MTE' }, { enable_cap: 'KVM_CAP_ARM_MTE_PERM' }];
const doc = (steps: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ name: 'hostile', host: HOST, steps: [...PREFIX, ...steps], ...extra });

describe('hostile scenarios through the CLI: a clear error (exit 2) or a bounded, correct run', () => {
  it('memory_size 2^63: a bounded run; KVM refuses the slot -EINVAL (more than KVM_MEM_MAX_NR_PAGES pages)', async () => {
    const r = await mteperm('size-2^63', ['run', write('s63.json', doc([{ set_user_memory_region: { slot: 0, guest_phys_addr: '0x0', memory_size: '0x8000000000000000', backing: 'anon' } }])), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).steps[3]).toEqual({ index: 3, op: 'set_user_memory_region', slot: 0, ret: -22, errno: 'EINVAL' });
  });

  it('memory_size 16 EiB - 1 (unaligned) and 16 EiB - 4 KiB at gpa 4 KiB (wraps): -EINVAL each', async () => {
    const r = await mteperm('size-16EiB-1', ['run', write('s64.json', doc([
      { set_user_memory_region: { slot: 0, guest_phys_addr: '0x0', memory_size: '0xffffffffffffffff', backing: 'anon' } },
      { set_user_memory_region: { slot: 1, guest_phys_addr: '0x1000', memory_size: '0xfffffffffffff000', backing: 'anon' } },
    ])), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).steps.slice(3).map((s: { errno: string }) => s.errno)).toEqual(['EINVAL', 'EINVAL']);
  });

  it('memory_size 2^64 is not a u64: exit 2 naming the field', async () => {
    const r = await mteperm('size-2^64', ['run', write('s65.json', doc([{ set_user_memory_region: { slot: 0, guest_phys_addr: '0x0', memory_size: '0x10000000000000000', backing: 'anon' } }])), '--json']);
    expectBadInput(r, /^mteperm: s65\.json: steps\[3\]\.set_user_memory_region\.memory_size: /);
  });

  it('overlapping slots: the second is -EEXIST; beyond the 40-bit IPA space: -EFAULT (DOMAIN A.2.2)', async () => {
    const r = await mteperm('overlap-ipa', ['run', write('ov.json', doc([
      { set_user_memory_region: { slot: 0, guest_phys_addr: '0x80000000', memory_size: '1GiB', backing: 'anon' } },
      { set_user_memory_region: { slot: 1, guest_phys_addr: '0xbffff000', memory_size: '8KiB', backing: 'file-shared' } },
      { set_user_memory_region: { slot: 2, guest_phys_addr: '0xfffffff000', memory_size: '8KiB', backing: 'anon' } },
      { create_vcpu: { id: 0 } },
      { access: { vcpu: 0, gpa: '0xffffffffffff0', op: 'stg' } },
      { access: { vcpu: 0, gpa: '0xfffffffffffffff8', op: 'read' } },
    ])), '--json']);
    expect(r.code).toBe(0);
    const steps = JSON.parse(r.stdout).steps;
    expect(steps.slice(3, 6).map((s: { ret: number }) => s.ret)).toEqual([0, -17, -14]);
    // Accesses beyond the VM's 40-bit IPA space are not looked up: KVM injects an external abort
    // into the guest (DOMAIN B §5.2), whatever the address up to 2^64-8; kvm_inject_dabt sets no
    // WnR, so a tag write gets the same ESR_EL1 as a read (DOMAIN A.3.9).
    expect(steps[7]).toMatchObject({ outcome: 'injected', abort: { kind: 'sea', esr: '0x96000010' } });
    expect(steps[8]).toMatchObject({ op: 'access', gpa: '0xfffffffffffffff8', outcome: 'injected', abort: { kind: 'sea', esr: '0x96000010' } });
  });

  it('10^6 steps (JSON generated into a file): completes, bounded time and memory (figures reported, not asserted)', async () => {
    const steps: unknown[] = [{ set_user_memory_region: { slot: 0, guest_phys_addr: '0x80000000', memory_size: '64MiB', backing: 'anon' } }, { set_user_memory_region: { slot: 1, guest_phys_addr: '0x10000000', memory_size: '16MiB', backing: 'vfio-bar-wb' } }, { create_vcpu: { id: 0 } }];
    const OPS = ['read', 'write', 'stg', 'ldg', 'checked_read'];
    while (steps.length + PREFIX.length < 1_000_000) {
      const i = steps.length;
      const gpa = (i & 1 ? 0x80000000 : 0x10000000) + ((i * 0x1040) % 0x1000000);
      steps.push({ access: { vcpu: 0, gpa: `0x${gpa.toString(16)}`, op: OPS[i % OPS.length] } });
    }
    const file = write('million.json', doc(steps));
    const r = spawned('steps-1e6', ['run', file, '--log', 'million.mtelog'], 300_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/999999 {2}access vcpu0 /);
    const replay = spawned('replay-1e6', ['replay', 'million.mtelog', '--json'], 300_000);
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.stdout).state.matches).toBe(true);
  }, 600_000);

  it('one step more than the 10^6 limit: refused with exit 2 naming the limit', async () => {
    const steps = Array.from({ length: 1_000_001 - PREFIX.length }, () => ({ create_vcpu: { id: 0 } }));
    const r = spawned('steps-1e6+1', ['run', write('toomany.json', doc(steps))], 60_000);
    expectBadInput(r, /^mteperm: toomany\.json: steps: .*1000000/);
  });

  it('deeply nested YAML (10 000 levels of flow lists and of block mappings): exit 2, depth limit', async () => {
    const r1 = await mteperm('yaml-deep-flow', ['run', write('deep.yaml', `name: x\nhost: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`)]);
    expectBadInput(r1, /^mteperm: deep\.yaml:2:\d+: nesting deeper than 64 levels$/);
    const block = Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
    const r2 = await mteperm('yaml-deep-block', ['run', write('deep2.yaml', `${block} 1\n`)]);
    expectBadInput(r2, /^mteperm: deep2\.yaml:\d+:\d+: nesting deeper than 64 levels$/);
  });

  it('YAML alias bomb: exit 2 (alias limit)', async () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 20; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const r = await mteperm('yaml-alias-bomb', ['run', write('bomb.yaml', `${lines.join('\n')}\n`)]);
    expectBadInput(r, /^mteperm: bomb\.yaml: .*alias/i);
  });

  it.each([
    ['name: 42', /host: required field is missing/],
    ['a string', /steps|host|name|mapping/],
    ['[1, 2, 3]', /mapping|object/],
  ])('wrong top-level types (%s): exit 2', async (body, re) => {
    const r = await mteperm(`wrong-top-${body}`, ['run', write('wrong.yaml', `${body}\n`)]);
    expectBadInput(r, new RegExp(`^mteperm: wrong\\.yaml: .*${re.source}`));
  });

  it.each([
    [{ set_user_memory_region: { slot: '0', guest_phys_addr: '0x0', memory_size: '4KiB', backing: 'anon' } }, /steps\[3\]\.set_user_memory_region\.slot/],
    [{ set_user_memory_region: { slot: 0, guest_phys_addr: true, memory_size: '4KiB', backing: 'anon' } }, /steps\[3\]\.set_user_memory_region\.guest_phys_addr/],
    [{ set_user_memory_region: { slot: 0, guest_phys_addr: '0x0', memory_size: 1e300, backing: 'anon' } }, /steps\[3\]\.set_user_memory_region\.memory_size/],
    [{ set_user_memory_region: { slot: 0, guest_phys_addr: '0x0', memory_size: '4KiB', backing: ['anon'] } }, /steps\[3\]\.set_user_memory_region\.backing/],
    [{ access: { vcpu: -1, gpa: '0x0', op: 'read' } }, /steps\[3\]\.access\.vcpu/],
    [{ access: { vcpu: 0, gpa: '0x0', op: 'rm -rf' } }, /steps\[3\]\.access\.op/],
    [{ create_vm: { ipa_bits: 'forty' } }, /steps\[3\]\.create_vm\.ipa_bits/],
    [{ guest_stage2: { vcpu: 0, map: 'all' } }, /steps\[3\]\.guest_stage2\.map/],
    [{ __proto__: { polluted: true } }, /steps\[3\]/],
  ])('wrong field types (%j): exit 2 naming the field', async (step, re) => {
    const r = await mteperm('wrong-field', ['run', write('wf.json', doc([step])), '--json']);
    expectBadInput(r, new RegExp(`^mteperm: wf\\.json: ${re.source}`));
  });

  it('a 10 MB single line (one huge string scalar): exit 2, scalar limit, bounded memory', async () => {
    const r = await mteperm('10MB-line', ['run', write('line.json', `{"name": "${'a'.repeat(10 * 1024 * 1024)}"}`)]);
    expectBadInput(r, /^mteperm: line\.json:1:10: string longer than 65536 characters$/);
  });

  it('binary garbage as .yaml and as .json: exit 2', async () => {
    const garbage = Buffer.alloc(1 << 20);
    let x = 12345;
    for (let i = 0; i < garbage.length; i++) garbage[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    expectBadInput(await mteperm('garbage-yaml', ['run', write('g.yaml', garbage)]), /^mteperm: g\.yaml: /);
    expectBadInput(await mteperm('garbage-json', ['run', write('g.json', garbage)]), /^mteperm: g\.json: /);
    expectBadInput(await mteperm('garbage-log', ['replay', write('g.mtelog', garbage)]), /^mteperm: \S*g\.mtelog: byte 0: not an mteperm event log: expected magic /);
  });

  it('a log with random byte flips: replay reports the damage with its byte offset (exit 2) or a clean replay; never a crash', async () => {
    const ok = await mteperm('flip-source', ['run', 'builtin:nested-guest-hypervisor', '--log', 'flip.mtelog']);
    expect(ok.code).toBe(0);
    const log = readFileSync(join(cwd, 'flip.mtelog'));
    let x = 99;
    const rnd = (n: number) => (x = (x * 1103515245 + 12345) >>> 0) % n;
    let damaged = 0;
    for (let t = 0; t < 24; t++) {
      const bytes = Buffer.from(log);
      const at = 32 + rnd(bytes.length - 32); // past the header: the header has its own test below
      bytes[at] ^= 1 << rnd(8);
      const r = await mteperm(`flip-${t}`, ['replay', write('flipped.mtelog', bytes), '--json']);
      expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
      expect([0, 2]).toContain(r.code);
      if (r.code === 2) {
        damaged++;
        expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
        const m = /^mteperm: \S*flipped\.mtelog: byte (\d+): /.exec(r.stderr);
        expect(m).not.toBeNull();
        // The damaged record starts at or before the flipped byte.
        expect(Number(m![1])).toBeLessThanOrEqual(at);
      }
    }
    expect(damaged).toBeGreaterThan(12);
    // A flip in the header: refused, exit 2, byte offset named.
    const head = Buffer.from(log);
    head[3] ^= 0x20;
    expectBadInput(await mteperm('flip-header', ['replay', write('head.mtelog', head)]), /^mteperm: \S*head\.mtelog: byte 3: not an mteperm event log: expected magic /);
  });
});

describe('hostile policy plugins through the CLI (--policy ./x.cjs): recorded as PluginFailed, skipped, results unchanged', () => {
  // Tag accesses to a VFIO BAR, a page-cache mapping and RAM, for the hostile policies to decide on.
  const SCEN = readFileSync(join(__dirname, 'fixtures', 'hostile-plugins.json'), 'utf8');

  /** The JSON result without `log` (its event count and hash include the PluginFailed records) and the skipped calls. */
  const model = (stdout: string) => {
    const d = JSON.parse(stdout);
    delete d.log;
    delete d.plugin_failures;
    return d;
  };

  // The reference run is the same for every plugin: once, in process.
  let good: Ran;
  beforeAll(async () => {
    write('plugins.json', SCEN);
    good = await mteperm('plugin-ref', ['run', 'plugins.json', '--json', '--log', 'good.mtelog', '--policy', 'tag-alloc-retry', 'inject-sea']);
  });

  it('the reference run (no hostile plugin) ends retried, injected, injected, ok (DOMAIN A.2.7)', () => {
    expect(good.code).toBe(0);
    expect(model(good.stdout).steps.slice(7).map((s: { outcome: string }) => s.outcome)).toEqual(['retried', 'injected', 'injected', 'ok']);
  });

  it.each(['throws.cjs', 'spin.cjs', 'garbage.cjs', 'mutate-inputs.cjs', 'pollute.cjs', 'throws-hostile.cjs', 'freeze.cjs'])('--policy %s first in the chain: same JSON as without it, PluginFailed in the log', async (plugin) => {
    writeFileSync(join(cwd, plugin), readFileSync(join(PLUGINS, plugin)));
    // Through the real binary: a plugin that escaped its isolation would change this process for good.
    const bad = spawnMteperm(cwd, ['run', 'plugins.json', '--json', '--log', 'bad.mtelog', '--policy', `./${plugin}`, 'tag-alloc-retry', 'inject-sea']);
    figures[`plugin-${plugin}`] = { code: bad.code, ms: bad.ms };
    expect(bad.stderr).toBe('');
    expect(bad.code).toBe(0);
    expect(model(bad.stdout)).toEqual(model(good.stdout));
    // The skipped calls are listed in the result (README "Where the contract is silent"), the reference has none.
    expect(JSON.parse(good.stdout).plugin_failures).toEqual([]);
    expect(JSON.parse(bad.stdout).plugin_failures.length).toBeGreaterThan(0);
    const replay = await mteperm('plugin-replay', ['replay', 'bad.mtelog', '--json']);
    expect(replay.code).toBe(0);
    const rep = JSON.parse(replay.stdout);
    expect(rep.state.matches).toBe(true);
    expect(rep.policies).toEqual([`./${plugin}`, 'tag-alloc-retry', 'inject-sea']);
  }, 30_000);
});
