/**
 * Policy plugins that misbehave cannot take the CLI down (issue 21; README "Plugin isolation"),
 * through the real binary: each hostile fixture of packages/runtime/test/fixtures/policies is a row
 * of the table below (fixture, exit code, a stderr fragment, the JSON `plugin_failures`), run in
 * process and under `--sandbox`. Every spawn has a timeout (a hang fails the row), and after each
 * row no process of it is left and no file appeared beside the scenario but the named log.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = join(__dirname, '..', 'bin', 'mteperm.js');
const FIXTURES = resolve(__dirname, '../../../packages/runtime/test/fixtures/policies');
const RELIABILITY = resolve(__dirname, '../../../packages/runtime/test/reliability/plugins');

// One tag-access fault (step 8: STG on a NoTagAccess VFIO BAR under v2, DOMAIN A.2.5) and no
// `expect`, so every decision is a run that exits 0.
const SCENARIO = readFileSync(join(__dirname, 'fixtures', 'plugin-probe.json'), 'utf8');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mteperm-plugins-'));
  writeFileSync(join(dir, 'probe.json'), SCENARIO);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function mteperm(args: readonly string[], timeoutMs = 30_000): Ran {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, MTEPERM_DEBUG: '' } });
  return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: Date.now() - t0 };
}

/** Processes still running whose command line names this row's folder (a sandbox child names it in --allow-fs-read). */
function leftover(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes(dir)) found.push(`${pid}: ${cmd.replace(/\0/g, ' ')}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

interface Row {
  readonly fixture: string;
  /** Where the fixture lives (default: packages/runtime/test/fixtures/policies). */
  readonly from?: string;
  readonly code: number;
  /** A fragment stderr must contain ('' for an empty stderr). */
  readonly stderr: string;
  readonly failures: ReadonlyArray<{ plugin: string; step: number | null; reason: string }>;
  /** Overrides for the sandboxed run, where it differs (and why, in the row's comment). */
  readonly sandboxed?: Partial<Pick<Row, 'stderr' | 'failures'>>;
}

const at = (plugin: string, reason: string, steps: Array<number | null> = [8, 9]) => steps.map((step) => ({ plugin, step, reason }));

const ROWS: readonly Row[] = [
  { fixture: 'loop-on-load.cjs', code: 0, stderr: '', failures: at('./loop-on-load.cjs', 'timeout', [null]) },
  { fixture: 'exit-on-load.cjs', code: 0, stderr: '', failures: at('./exit-on-load.cjs', 'exited', [null]) },
  { fixture: 'exit-in-decide.cjs', code: 0, stderr: '', failures: at('exit-in-decide', 'exited') },
  { fixture: 'abort-in-decide.cjs', code: 0, stderr: '', failures: at('abort-in-decide', 'exited') },
  { fixture: 'kill-in-decide.cjs', code: 0, stderr: '', failures: at('kill-in-decide', 'exited') },
  { fixture: 'exit-caught.cjs', code: 0, stderr: '', failures: at('exit-caught', 'exited') },
  { fixture: 'timer-in-decide.cjs', code: 0, stderr: '', failures: [] },
  { fixture: 'prints.cjs', code: 0, stderr: 'prints: deciding\nprints: raw write\n', failures: [] },
  { fixture: 'spin.cjs', code: 0, stderr: '', failures: at('spin', 'timeout') },
  { fixture: 'blocks.cjs', code: 0, stderr: '', failures: at('blocks', 'timeout') },
  { fixture: 'throws.cjs', from: RELIABILITY, code: 0, stderr: '', failures: at('throws', 'threw') },
  { fixture: 'garbage.cjs', from: RELIABILITY, code: 0, stderr: '', failures: at('garbage', 'invalid-decision') },
  // In process a plugin is trusted code and may write files; the sandbox refuses the write.
  { fixture: 'writes-file.cjs', code: 0, stderr: '', failures: [], sandboxed: { failures: at('writes-file', 'denied') } },
  { fixture: 'spawns.cjs', code: 0, stderr: '', failures: [], sandboxed: { failures: at('spawns', 'denied') } },
  // Pollution in the sandbox's own process reaches nothing of the model's, so it is not `tampered`
  // there; what remains is the plugin's write to its frozen view (a TypeError).
  { fixture: 'pollute.cjs', from: RELIABILITY, code: 0, stderr: '', failures: at('pollute', 'tampered'), sandboxed: { failures: at('pollute', 'threw') } },
  { fixture: 'throws-on-load.cjs', code: 2, stderr: "mteperm: policy './throws-on-load.cjs': loading", failures: [] },
];

describe.each([
  ['in process', [] as string[]],
  ['--sandbox', ['--sandbox']],
])('hostile policy plugins %s: recorded, skipped, and the CLI still ends with its result (issue 21)', (mode, extra) => {
  it.each(ROWS.map((r) => [r.fixture, r] as const))('%s', (_name, row) => {
    copyFileSync(join(row.from ?? FIXTURES, row.fixture), join(dir, row.fixture));
    const sandboxed = extra.length > 0;
    const want = { ...row, ...(sandboxed ? row.sandboxed : {}) };
    const r = mteperm(['run', 'probe.json', '--json', '--log', 'probe.mtelog', '--policy', `./${row.fixture}`, 'tag-alloc-retry', ...extra]);
    expect({ mode, signal: r.signal, code: r.code }).toEqual({ mode, signal: null, code: want.code });
    if (want.stderr === '') expect(r.stderr).toBe('');
    else expect(r.stderr).toContain(want.stderr);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    if (want.code === 0) {
      // stdout is one JSON document: nothing a plugin printed is in it.
      const doc = JSON.parse(r.stdout) as { plugin_failures: unknown; steps: Array<{ outcome?: string }> };
      expect(doc.plugin_failures).toEqual(want.failures);
      // The skipped plugin changes nothing: tag-alloc-retry retries the first fault from its one page (DOMAIN A.2.7).
      if (row.fixture !== 'writes-file.cjs' && row.fixture !== 'spawns.cjs') expect(doc.steps.slice(8).map((s) => s.outcome)).toEqual(['retried', 'exit']);
    }
    expect(leftover()).toEqual([]);
    // Only the scenario, the fixture and the log: no temp file, and under --sandbox nothing written.
    const files = readdirSync(dir).sort();
    const expected = ['probe.json', row.fixture, ...(want.code === 0 ? ['probe.mtelog'] : []), ...(row.fixture === 'writes-file.cjs' && !sandboxed ? ['written-by-policy.txt'] : [])].sort();
    expect(files).toEqual(expected);
  }, 40_000);
});

describe('--sandbox gives the results and logs of the same run in process (README "Plugin isolation")', () => {
  it.each([
    ['retry-first-two.cjs', FIXTURES],
    ['asks-tag-storage.cjs', FIXTURES],
    ['throws.cjs', RELIABILITY],
    ['garbage.cjs', RELIABILITY],
    ['spin.cjs', FIXTURES],
    ['exit-in-decide.cjs', FIXTURES],
  ])('%s: byte-identical JSON (but for the log path) and log', (fixture, from) => {
    copyFileSync(join(from, fixture), join(dir, fixture));
    const plain = mteperm(['run', 'probe.json', '--json', '--log', 'plain.mtelog', '--policy', `./${fixture}`, 'inject-sea']);
    const boxed = mteperm(['run', 'probe.json', '--json', '--log', 'boxed.mtelog', '--policy', `./${fixture}`, 'inject-sea', '--sandbox']);
    expect([plain.code, boxed.code]).toEqual([0, 0]);
    expect(boxed.stdout.replace('"boxed.mtelog"', '"plain.mtelog"')).toBe(plain.stdout);
    expect(readFileSync(join(dir, 'boxed.mtelog')).equals(readFileSync(join(dir, 'plain.mtelog')))).toBe(true);
    // And replay --policy --sandbox re-decides as replay --policy does.
    const again = mteperm(['replay', 'plain.mtelog', '--json', '--policy', `./${fixture}`, 'tag-alloc-retry']);
    const againBoxed = mteperm(['replay', 'plain.mtelog', '--json', '--policy', `./${fixture}`, 'tag-alloc-retry', '--sandbox']);
    expect(again.code).toBe(0);
    expect(againBoxed.stdout).toBe(again.stdout);
    expect(leftover()).toEqual([]);
  }, 60_000);
});

describe('policy paths and --kernel (issue 21 items 8 and 10)', () => {
  it("a scenario's `policy: [./p.cjs]` resolves from the scenario's folder, --policy from the working folder", () => {
    const sub = join(dir, 'scen');
    rmSync(sub, { recursive: true, force: true });
    require('node:fs').mkdirSync(sub);
    copyFileSync(join(FIXTURES, 'retry-first-two.cjs'), join(sub, 'p.cjs'));
    writeFileSync(join(sub, 's.json'), JSON.stringify({ ...JSON.parse(SCENARIO), policy: ['./p.cjs'] }));
    const r = mteperm(['run', 'scen/s.json', '--json', '--log', 'x.mtelog']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).steps[8].outcome).toBe('retried');
    const cli = mteperm(['run', 'scen/s.json', '--json', '--log', 'x.mtelog', '--policy', './p.cjs']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toBe(`mteperm: policy './p.cjs': no such file ${join(dir, 'p.cjs')}\n`);
  });

  it("run --kernel P checks `expect` only under the scenario's own kernel, and says so on stderr", () => {
    const other = mteperm(['run', 'builtin:vfio-passthrough-mte', '--kernel', 'baseline', '--log', 'b.mtelog']);
    expect(other.code).toBe(0);
    expect(other.stderr).toBe('mteperm: vfio-passthrough-mte: expect not checked: it is written for kernel v2, this run is --kernel baseline\n');
    const own = mteperm(['run', 'builtin:vfio-passthrough-mte', '--kernel', 'v2', '--log', 'v2.mtelog']);
    expect([own.code, own.stderr]).toEqual([0, '']);
  });
});
