import * as fs from 'node:fs';
import * as os from 'node:os';
import { formatTable, runBench } from './bench';
import { busGroup, eventsGroup, logGroup, protobufGroup } from './figures';
import { median } from './stats';
import { revisitScenario } from './scenarios';
import { runScenario } from '@mteperm/runtime';

// Every figure CONTRACT §4 names, and the codec figures of issue 3.
const REQUIRED = [
  'pipeline.faults_per_s',
  'pipeline.events_per_fault',
  'replay.events_per_s',
  'replay.peak_rss_mb_1m',
  'replay.peak_rss_mb_5m',
  'pgtable.walks_per_s',
  'pgtable.maps_per_s',
  'pgtable.bytes_per_page',
  'nested.faults_per_s',
  'bus.publish_events_per_s',
  'log.append_events_per_s',
  'log.read_events_per_s',
  'ref.protobuf_encode_decode_per_s',
  'ref.protobuf_decode_per_s',
  'ref.map_walks_per_s',
  'events.encode_per_s',
  'events.decode_per_s',
  // Issue 21: the cost of --sandbox, beside the same policy in process.
  'pipeline.sandboxed_faults_per_s',
  'ref.untrusted_policy_faults_per_s',
];
// Figures that are not rates and have no reference (sizes and counts).
const PLAIN = [
  'log.append_events_per_s',
  'pipeline.events_per_fault',
  'pipeline.accesses',
  'replay.log_events',
  'replay.small_log_events',
  'replay.peak_rss_mb_1m',
  'replay.peak_rss_mb_5m',
  'replay.same_state_peak_rss_mb_1m',
  'replay.same_state_peak_rss_mb_5m',
  'replay.same_state_log_events_1m',
  'replay.same_state_log_events_5m',
  'pgtable.bytes_per_page',
];

describe('bench document (CONTRACT §4)', () => {
  const tmpBefore = new Set(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('mteperm-bench-')));
  // Tiny counts, whole-pipeline runs in this process (the child processes need the built dist).
  const doc = runBench({ quick: true, runs: 1, ops: 50, pipelineAccesses: 400, smallLogAccesses: 100, nestedAccesses: 100, sameStateAccesses: [300, 1500], sandboxedAccesses: 80, pipelineRuns: 1, inProcess: true });

  it('has exactly the keys machine and figures, machine as {cpus, node, quick}', () => {
    expect(Object.keys(doc).sort()).toEqual(['figures', 'machine']);
    expect(doc.machine).toEqual({ cpus: os.cpus().length, node: process.version, quick: true });
  });

  it('has every required figure with a positive finite value and a unit', () => {
    for (const name of REQUIRED) {
      const f = doc.figures[name];
      expect(f).toBeDefined();
      expect(Number.isFinite(f!.value) && f!.value > 0).toBe(true);
      expect(f!.unit).toMatch(name.endsWith('_per_s') ? /^[a-z]+\/s$/ : /^[A-Za-z]+(\/[a-z]+)?$/);
    }
  });

  it('gives each figure only value, unit and reference, and every reference names a figure without one', () => {
    for (const [name, f] of Object.entries(doc.figures)) {
      expect(Object.keys(f).every((k) => ['value', 'unit', 'reference'].includes(k))).toBe(true);
      if (f.reference !== undefined) {
        expect(doc.figures[f.reference]).toBeDefined();
        expect(doc.figures[f.reference]!.reference).toBeUndefined();
        expect(f.reference.startsWith('ref.')).toBe(true);
      } else {
        expect(name.startsWith('ref.') || PLAIN.includes(name)).toBe(true);
      }
    }
    expect(doc.figures['events.decode_per_s']!.reference).toBe('ref.protobuf_decode_per_s');
    expect(doc.figures['bus.publish_events_per_s']!.reference).toBe('ref.protobuf_encode_decode_per_s');
    expect(doc.figures['log.read_events_per_s']!.reference).toBe('ref.protobuf_decode_per_s');
  });

  it('measures every access of the generated scenarios as a fault, about six events each', () => {
    expect(doc.figures['pipeline.accesses']!.value).toBe(400);
    expect(doc.figures['pipeline.events_per_fault']!.value).toBeGreaterThan(4);
    expect(doc.figures['pipeline.events_per_fault']!.value).toBeLessThan(8);
    expect(doc.figures['replay.log_events']!.value).toBeGreaterThan(400 * 4);
  });

  it('reports the replay of two logs over one state (here both all first touches: 5.875 events each)', () => {
    const small = doc.figures['replay.same_state_log_events_1m']!.value;
    const big = doc.figures['replay.same_state_log_events_5m']!.value;
    expect(big - small).toBe((1500 - 300) * 5.875);
    expect(doc.figures['replay.same_state_peak_rss_mb_5m']!.value).toBeGreaterThan(0);
  });

  it('revisits add 3.25 events each and leave the state as it was (hits: request, completion, end; BAR STG: request, fault, policy, exit, end)', () => {
    const run = (accesses: number) => {
      let events = 0;
      const out = runScenario(revisitScenario(accesses, 16).scenario, { sink: () => events++ });
      return { events, state: out.stateSha256, outcomes: out.result.steps.slice(-8).map((st) => st['outcome']) };
    };
    const [once, again] = [run(16), run(16 + 32)];
    expect(again.events - once.events).toBe(32 * 3.25);
    expect(again.state).toBe(once.state);
    expect(again.outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'exit']);
  });

  it('serialises to JSON and back unchanged (one document on stdout)', () => {
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  it('removes its temp files', () => {
    const after = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('mteperm-bench-') && !tmpBefore.has(n));
    expect(after).toEqual([]);
  });

  it('formats a table with one row per figure and the ratio to its reference', () => {
    const table = formatTable({
      machine: { cpus: 2, node: 'v20.0.0', quick: true },
      figures: { 'ref.x_per_s': { value: 2000, unit: 'events/s' }, 'y_per_s': { value: 500, unit: 'events/s', reference: 'ref.x_per_s' } },
    });
    expect(table.split('\n')).toEqual([
      'mteperm bench (quick; 2 cpus, node v20.0.0)',
      'figure       value  unit      vs reference',
      'ref.x_per_s  2,000  events/s',
      'y_per_s        500  events/s  0.25x ref.x_per_s',
    ]);
  });
});

describe('figure groups', () => {
  it.each([
    ['protobuf', () => protobufGroup()],
    ['events', () => eventsGroup()],
    ['bus', () => busGroup()],
  ] as const)('%s: one run of 20 ops reports a positive duration for each of its figures', (_name, make) => {
    const g = make();
    const ns = g.run(20);
    expect(Object.keys(ns).sort()).toEqual(g.figures.map((f) => f.name).sort());
    for (const v of Object.values(ns)) expect(v).toBeGreaterThan(0);
  });

  it('log: writes and reads back a log of n intact records, then removes it', () => {
    const dir = fs.mkdtempSync(`${os.tmpdir()}/mteperm-bench-spec-`);
    try {
      const g = logGroup(dir);
      const ns = g.run(30);
      expect(Object.keys(ns).sort()).toEqual(['log.append_events_per_s', 'log.read_events_per_s', 'log.scan_records_per_s']);
      expect(fs.readdirSync(dir)).toEqual(['bench.mtelog']);
      g.dispose?.();
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });
});
