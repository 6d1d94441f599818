import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// Logs recorded by earlier versions of mteperm (format 1, schema 1), kept byte for byte. Every later
// version must rebuild each to its recorded state hash and to the same memslots, leaves and exits:
// the safety net of every refactor of the events or the log (ARCHITECTURE "older ones are upcast").
const BIN = join(__dirname, '..', 'bin', 'mteperm.js');
const FIXTURES = join(__dirname, 'logs');

const cases = readdirSync(FIXTURES).flatMap((dir) =>
  readdirSync(join(FIXTURES, dir))
    .filter((f) => f.endsWith('.mtelog'))
    .map((f) => ({ dir, name: f.slice(0, -'.mtelog'.length) })),
);

function mteperm(cwd: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, MTEPERM_DEBUG: '' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('logs recorded by earlier versions still rebuild', () => {
  it('has fixtures of every built-in scenario', () => {
    expect(cases.length).toBeGreaterThanOrEqual(13);
  });

  it.each(cases)('$dir/$name rebuilds to its recorded state hash', ({ dir, name }) => {
    const cwd = join(FIXTURES, dir);
    const r = mteperm(cwd, 'replay', `${name}.mtelog`, '--json');
    // Format 1 has no end mark: exactly the one documented note (README "Exit codes and output paths"), no error.
    expect(r.stderr).toBe(`mteperm: note: ${name}.mtelog: format 1 log: it has no end mark (format 2 adds one), so a cut on a record boundary cannot be told from its end\n`);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.damage).toBeNull();
    expect(doc.state.recorded_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(doc.state.rebuilt_sha256).toBe(doc.state.recorded_sha256);
    expect(doc.state.matches).toBe(true);
  });

  it.each(cases)('$dir/$name rebuilds the same memslots, stage-2 leaves and exits', ({ dir, name }) => {
    const cwd = join(FIXTURES, dir);
    const r = mteperm(cwd, 'inspect', `${name}.mtelog`, '--json');
    expect(r.code).toBe(0);
    const want = JSON.parse(readFileSync(join(cwd, `${name}.inspect.json`), 'utf8'));
    expect(JSON.parse(r.stdout)).toEqual(want);
  });

  // Schema 1 has no AccessEnded: re-decide folds the recorded end events into each access's outcome
  // by the rule KVM_RUN now applies live, so the same chain re-decides every fault the same way.
  it.each(cases)('$dir/$name re-decided with its own policies changes nothing', ({ dir, name }) => {
    const cwd = join(FIXTURES, dir);
    const head = JSON.parse(mteperm(cwd, 'replay', `${name}.mtelog`, '--json').stdout);
    const policies: string[] = head.policies.length > 0 ? head.policies : ['exit-to-vmm'];
    const r = mteperm(cwd, 'replay', `${name}.mtelog`, '--json', ...policies.flatMap((p) => ['--policy', p]));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.totals.changed).toBe(0);
    expect(doc.totals.redecided).toEqual(doc.totals.recorded);
    for (const f of doc.faults) expect(f.redecided).toEqual(f.recorded);
    expect(doc.state_sha256.redecided).toBe(doc.state_sha256.recorded);
  });
});
