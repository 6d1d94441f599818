/**
 * Hostile output paths and unfinished logs through the real binary, as a data table
 * (hostile-paths.json; issue 21 items 1, 2, 10, 11 and the path errors of item 9). Each case: the
 * exit code, one stderr line holding a fragment, and nothing outside the named output changed:
 * devices stay devices (run as root, as CI does, so a replacement would really happen), an existing
 * log stays as it was, no `.NAME.PID.N.tmp` is left. Write errors come from a real full tmpfs and a
 * read-only one (ENOSPC, EROFS).
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLogReader } from '@mteperm/log';

const BIN = join(__dirname, '..', 'bin', 'mteperm.js');

interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly code: number;
  /** A fragment of the one stderr line; absent for a case that must succeed silently. */
  readonly stderr?: string;
  readonly notStderr?: string;
  readonly stdout?: string;
  readonly same?: readonly string[];
  readonly absent?: readonly string[];
  readonly noTemp?: readonly string[];
  readonly needs?: 'mount';
}

const table = JSON.parse(readFileSync(join(__dirname, 'hostile-paths.json'), 'utf8')) as { cases: Case[] };

let cwd = '';
let full = '';
let ro = '';
let mounted = false;
const vars: Record<string, string> = {};

function sub(s: string): string {
  return s.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
}

function mteperm(args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 30_000, env: { ...process.env, MTEPERM_DEBUG: '' } });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function mount(dir: string, options: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).status === 0;
}

beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'mteperm-paths-'));
  vars['cwd'] = cwd;
  mkdirSync(join(cwd, 'folder'));
  writeFileSync(join(cwd, 'folder', 'inside'), 'kept');
  expect(spawnSync('mkfifo', [join(cwd, 'fifo')]).status).toBe(0);
  expect(mteperm(['run', 'builtin:virtio-pmem', '--log', 'good.mtelog']).code).toBe(0);
  expect(mteperm(['run', 'builtin:lazy-tag-storage', '--log', 'lazy.mtelog']).code).toBe(0);
  const good = readFileSync(join(cwd, 'good.mtelog'));
  const r = openLogReader(join(cwd, 'good.mtelog'));
  const offsets = [...r.records()].map((x) => x.offset);
  const header = r.dataOffset;
  const mark = r.endMark!.offset;
  r.close();
  // The boundary before the last record (StateHashRecorded): what `head -c N` of issue 21 item 2 makes.
  const boundary = offsets.at(-1)!;
  vars['boundary'] = String(boundary);
  writeFileSync(join(cwd, 'cut-boundary.mtelog'), good.subarray(0, boundary));
  writeFileSync(join(cwd, 'cut-before-mark.mtelog'), good.subarray(0, mark));
  writeFileSync(join(cwd, 'header-only.mtelog'), good.subarray(0, header));
  writeFileSync(join(cwd, 'picture.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 7)]));
  writeFileSync(join(cwd, 'crlf.mtelog'), Buffer.concat([good.subarray(0, 6), good.subarray(7)]));
  full = join(cwd, 'full');
  ro = join(cwd, 'ro');
  vars['full'] = full;
  vars['ro'] = ro;
  mounted = mount(full, 'size=64k') && mount(ro, 'size=64k');
  if (mounted) {
    writeFileSync(join(full, 'keep.mtelog'), 'the old log');
    try {
      writeFileSync(join(full, 'filler'), Buffer.alloc(1 << 20));
    } catch {
      /* ENOSPC: the file system is now full, as intended */
    }
    spawnSync('mount', ['-o', 'remount,ro', ro]);
  }
});

afterAll(() => {
  for (const d of [ro, full]) if (d !== '') spawnSync('umount', [d]);
  if (cwd !== '') rmSync(cwd, { recursive: true, force: true });
});

interface Seen {
  readonly kind: string;
  readonly rdev: number;
  readonly bytes: string | undefined;
  readonly entries: string | undefined;
}

function seen(p: string): Seen {
  const st: Stats = lstatSync(p);
  const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isCharacterDevice() ? 'chr' : st.isFIFO() ? 'fifo' : 'other';
  return {
    kind,
    rdev: st.rdev,
    bytes: st.isFile() ? readFileSync(p).toString('base64') : undefined,
    entries: st.isDirectory() ? readdirSync(p).sort().join(',') : undefined,
  };
}

function temps(dir: string): string[] {
  return readdirSync(dir).filter((f) => /^\..*\.\d+\.\d+\.tmp$/.test(f));
}

describe('hostile output paths and unfinished logs (issue 21; README "Exit codes and output paths")', () => {
  it('runs as root, as CI does, so that a device really could be replaced', () => {
    if (process.env['CI'] === 'true') expect(process.getuid?.()).toBe(0);
    if (process.env['CI'] === 'true') expect(mounted).toBe(true);
  });

  it.each(table.cases)('$name', (c) => {
    if (c.needs === 'mount' && !mounted) {
      // Outside CI without root a tmpfs cannot be mounted: the write-error cases need it.
      expect(process.env['CI']).not.toBe('true');
      return;
    }
    const same = (c.same ?? []).map(sub);
    const before = same.map(seen);
    const r = mteperm(c.args.map(sub));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: c.code, stderr: c.stderr === undefined ? '' : expect.stringContaining(sub(c.stderr)) });
    if (c.code !== 0) expect(r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('mteperm: note:'))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    if (c.notStderr !== undefined) expect(r.stderr).not.toContain(c.notStderr);
    if (c.stdout !== undefined) expect(r.stdout).toContain(sub(c.stdout));
    expect(same.map(seen)).toEqual(before);
    for (const p of (c.absent ?? []).map(sub)) expect(() => lstatSync(p)).toThrow();
    for (const d of (c.noTemp ?? []).map(sub)) expect(temps(d)).toEqual([]);
  });
});
