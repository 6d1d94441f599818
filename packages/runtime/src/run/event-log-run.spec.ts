import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileEventLog } from '@mteperm/log';
import { redecideEventLog, redecideLog } from '../replay/redecide';
import { scenarioYaml } from '../../test/fixtures/scenario-builder';
import { parseScenario } from '../scenario/load';
import { recordScenarioToLog, runLogHeader } from './event-log-run';
import { rebuildFromEventLog, rebuildFromLog } from './rebuild';
import { recordScenario } from './run-scenario';

// The cover letter's case (fixture cover-letter-vm): a write-back VFIO BAR next to RAM; the stg on the BAR faults.
const SCENARIO = parseScenario(
  scenarioYaml('cover-letter-vm', {
    steps: [
      { access: { vcpu: 0, gpa: '0x80001000', op: 'write' } },
      { access: { vcpu: 0, gpa: '0x10000040', op: 'stg' } },
      { access: { vcpu: 0, gpa: '0x10002000', op: 'stg' } },
    ],
  }),
  { file: 't.yaml' },
);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mteperm-evlog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('recording to and replaying from an EventLog', () => {
  it('recordScenarioToLog on the file backend writes the same bytes and result as recordScenario', async () => {
    const a = recordScenario(SCENARIO, join(dir, 'a.mtelog'));
    const log = FileEventLog.create(join(dir, 'b.mtelog'), runLogHeader(SCENARIO));
    const b = await recordScenarioToLog(SCENARIO, log);
    expect(readFileSync(join(dir, 'b.mtelog')).equals(readFileSync(join(dir, 'a.mtelog')))).toBe(true);
    expect(b.result.log).toEqual({ ...a.result.log, path: join(dir, 'b.mtelog') });
    expect({ ...b.result, log: null }).toEqual({ ...a.result, log: null });
  });

  it('rebuildFromEventLog and redecideEventLog give what the synchronous file replays give', async () => {
    const path = join(dir, 'r.mtelog');
    recordScenario(SCENARIO, path);
    const sync = rebuildFromLog(path, { collectExits: true });
    const viaLog = await rebuildFromEventLog(FileEventLog.open(path), { collectExits: true });
    expect(viaLog.events).toBe(sync.events);
    expect(viaLog.matches).toBe(true);
    expect(viaLog.rebuiltSha256).toBe(sync.rebuiltSha256);
    expect(viaLog.exits.map((e) => e.seq)).toEqual(sync.exits.map((e) => e.seq));
    expect(viaLog.exits.length).toBe(2);

    const redecided = await redecideEventLog(FileEventLog.open(path), { policyNames: ['tag-alloc-retry'] });
    expect(redecided).toEqual(redecideLog(path, { policyNames: ['tag-alloc-retry'] }));
    expect(redecided.totals).toMatchObject({ exits_avoided: 2, changed: 2 });
  });

  it('a run that throws aborts its log: nothing is left behind', async () => {
    const path = join(dir, 'x.mtelog');
    const log = FileEventLog.create(path, runLogHeader(SCENARIO));
    await expect(recordScenarioToLog(SCENARIO, log, { policyNames: ['no-such-policy'] })).rejects.toThrow();
    expect(() => readFileSync(path)).toThrow();
  });
});
