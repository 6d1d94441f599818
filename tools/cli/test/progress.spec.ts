import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Progress on stderr for long work (issue 19): on a terminal only, never piped, with --json or
// --quiet. MTEPERM_PROGRESS_AFTER_MS=0 shows the bar at once, so a few thousand events suffice.
jest.setTimeout(120_000);
const BIN = join(__dirname, '..', 'bin', 'mteperm.js');
const BAR = /\[[\u2588\u2591]+\] \d+% \| \d+\/\d+ \| [\d.]+( k| M)?\/s \| .* left/;

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'mteperm-progress-'));
  const steps = ['  - create_vm: {}', '  - set_user_memory_region: { slot: 0, guest_phys_addr: "0x80000000", memory_size: "1GiB", backing: file-shared }', '  - create_vcpu: { id: 0 }'];
  for (let i = 0; i < 3000; i++) steps.push(`  - access: { vcpu: 0, gpa: "0x${(0x8000_0000 + i * 0x1000).toString(16)}", op: read }`);
  writeFileSync(join(cwd, 'p.yaml'), `name: p\nhost: { cpus: [{ features: [mte2] }] }\nsteps:\n${steps.join('\n')}\n`);
  const r = spawnSync(process.execPath, [BIN, 'run', 'p.yaml', '--log', 'p.mtelog'], { cwd, encoding: 'utf8' });
  expect(r.status).toBe(0);
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const env = { ...process.env, MTEPERM_PROGRESS_AFTER_MS: '0', NO_COLOR: '1' };

/** Runs under script(1): a pseudo-terminal, as a person's shell; stdout goes to /dev/null. */
function onTerminal(args: string): string {
  const r = spawnSync('script', ['-qec', `${process.execPath} ${BIN} ${args} >/dev/null`, '/dev/null'], { cwd, encoding: 'utf8', env, timeout: 60_000 });
  expect(r.status).toBe(0);
  return r.stdout;
}

function piped(args: string[]): { code: number; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env });
  return { code: r.status ?? -1, stderr: r.stderr };
}

describe.each([
  ['replay', 'replay p.mtelog', 'events'],
  ['inspect', 'inspect p.mtelog', 'events'],
  ['view', 'view p.mtelog -o p.html', 'page'],
  ['compare', 'compare p.yaml --kernel v2 baseline', 'steps'],
])('%s', (_name, args, label) => {
  it(`shows "${label} [bar] %, done/total, rate, time left" on a terminal`, () => {
    expect(onTerminal(args)).toMatch(new RegExp(`${label} ${BAR.source}`));
  });
  it('shows nothing with --quiet on a terminal', () => {
    expect(onTerminal(`${args} --quiet`)).not.toMatch(BAR);
  });
  it('shows nothing when piped', () => {
    const r = piped(args.split(' '));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});

it('nothing with --json on a terminal (replay, inspect, compare)', () => {
  for (const args of ['replay p.mtelog --json', 'inspect p.mtelog --json', 'compare p.yaml --json --kernel v2']) expect(onTerminal(args)).not.toMatch(BAR);
});
