import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, expectOneLine, mteperm, spawnMteperm } from './support/in-process';

// Smoke tests of the real binary (tools/cli/bin/mteperm.js → dist), for what main(argv, io) in
// process cannot show: the process exit status, the bin script, a closed pipe, a terminal, npx.
const REPO = join(__dirname, '..', '..', '..');

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'mteperm-bin-'));
  // The cover letter VM with its own kernel set to baseline: its expect (written for v2) fails there.
  const vfio = readFileSync(join(__dirname, '..', 'scenarios', 'vfio-passthrough-mte.yaml'), 'utf8');
  writeFileSync(join(cwd, 'vfio-baseline.yaml'), vfio.replace(/^kernel: v2$/m, 'kernel: baseline'));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

describe('the mteperm binary', () => {
  it.each([
    ['0: ran', ['run', 'builtin:vfio-passthrough-mte', '--json', '--log', 'a.mtelog'], 0],
    ['1: the scenario’s own expect failed', ['run', 'vfio-baseline.yaml', '--log', 'b.mtelog'], 1],
    ['2: bad input', ['run', 'nope.yaml'], 2],
    ['2: an unknown option (commander)', ['scenarios', '--frobnicate'], 2],
  ])('exit status %s (CONTRACT §2), as main(argv, io) returns it', async (_what, args, code) => {
    const real = spawnMteperm(cwd, args);
    expect(real.code).toBe(code);
    if (code === 2) expectOneLine(real.stderr);
    const here = await mteperm(cwd, ...args);
    expect(here.code).toBe(code);
    expect(here.stderr).toBe(real.stderr);
    if (args.includes('--json')) expect(here.stdout).toBe(real.stdout);
  });

  it('the --json result and the log are the same bytes as in process', async () => {
    const real = spawnMteperm(cwd, ['run', 'builtin:nested-guest-hypervisor', '--json', '--log', 'real.mtelog']);
    const here = await mteperm(cwd, 'run', 'builtin:nested-guest-hypervisor', '--json', '--log', 'here.mtelog');
    expect(here.stdout.replace('here.mtelog', 'x')).toBe(real.stdout.replace('real.mtelog', 'x'));
    expect(readFileSync(join(cwd, 'here.mtelog')).equals(readFileSync(join(cwd, 'real.mtelog')))).toBe(true);
  });

  it('does not read stdin: with stdin an open pipe, it finishes', async () => {
    const child = spawn(process.execPath, [BIN, 'scenarios'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdin.end();
    expect(code).toBe(0);
    expect(stdout).toMatch(/^builtin:dirty-log-relax /);
  });

  it('a reader that stops early (| head) is not an error: no stack trace', () => {
    const r = spawnSync('sh', ['-c', `${process.execPath} ${BIN} scenarios | head -1`], { cwd, encoding: 'utf8' });
    expect(r.stdout).toMatch(/^builtin:dirty-log-relax /);
    expect(r.stderr).toBe('');
  });

  it('npx mteperm works from the repository root (CONTRACT §2)', () => {
    const r = spawnSync('npx', ['--no-install', 'mteperm', 'scenarios'], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^builtin:dirty-log-relax /m);
  });
});

describe('progress bar (cli-progress, stderr)', () => {
  // 150 000 accesses take a few seconds (the clock starts before parsing): long enough for the bar,
  // which only a terminal gets. JSON, not YAML: the subject is the bar, and JSON parses ten times faster.
  const STEPS = 150_000;
  const bigScenario = (): string => {
    const steps: unknown[] = [{ create_vm: {} }, { set_user_memory_region: { slot: 0, guest_phys_addr: '0x80000000', memory_size: '1GiB', backing: 'file-shared' } }, { create_vcpu: { id: 0 } }];
    for (let i = 0; i < STEPS; i++) steps.push({ access: { vcpu: 0, gpa: `0x${(0x8000_0000 + (i % 0x40000) * 0x1000).toString(16)}`, op: 'read' } });
    const file = join(cwd, 'big.json');
    writeFileSync(file, JSON.stringify({ name: 'big', host: { cpus: [{ features: ['mte2'] }] }, steps }));
    return file;
  };

  it('appears on a terminal for a run over a second, and never without a terminal', async () => {
    const file = bigScenario();
    // script(1) gives the child a pseudo-terminal, as a person's shell would.
    const tty = spawnSync('script', ['-qec', `${process.execPath} ${BIN} run ${file} --log big.mtelog >/dev/null`, '/dev/null'], {
      cwd,
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 1 << 26,
    });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(new RegExp(`steps \\[[\u2588\u2591]+\\] \\d+% \\| \\d+/${STEPS + 3}`));
    const piped = await mteperm(cwd, 'run', file, '--log', 'big2.mtelog');
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
  }, 120_000);
});
