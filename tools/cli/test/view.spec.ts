import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { openLogReader } from '@mteperm/log';
import { mtepermIn } from './in-process';
import { builtinNames } from '../src/builtin';

// `mteperm view` (CONTRACT §2): the page made from a log, opened in a real headless Chromium
// (Debian's /usr/bin/chromium, never a downloaded browser), clicked as a person would.
jest.setTimeout(180_000);

const CHROMIUM = process.env['MTEPERM_CHROMIUM'] ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  // Under CI the browser must be there (.ci/run installs it): fail loudly rather than skip.
  if (process.env['CI'] === 'true') throw new Error(`view.spec: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  process.stderr.write(`view.spec: SKIPPED the browser tests: no Chromium at ${CHROMIUM} (apt-get install -y chromium to run them)\n`);
}
const browserSuite = HAVE_CHROMIUM ? describe : describe.skip;

/** What the page exposes for tests (page/main.ts); evaluated in the browser, typed here. */
type PageGlobal = { mteperm?: { ready: boolean; loadMs: number; events: number; error?: string } };

const SHOTS = join(__dirname, '..', '..', '..', 'dist', 'view-screenshots');
const BUILTINS = builtinNames();

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), 'mteperm-view-'));
  mkdirSync(SHOTS, { recursive: true });
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/**
 * What the log says independently of the page: each access's caused events (every event whose
 * causation chain reaches it) and its end: AccessEnded, else the AccessCompleted of its own gpa
 * and op (a nested L2 access first completes the L1 access of its walk), else its first exit.
 */
function accessesOf(log: string): { seq: number; caused: number[]; end: { seq: number; type: string } | undefined }[] {
  const r = openLogReader(log);
  const events = new Map<number, { type: string; causation: number; gpa?: bigint; op?: string }>();
  for (const e of r.envelopes()) {
    const data = e.data as unknown as { gpa?: bigint; op?: string };
    events.set(Number(e.seq), { type: e.type, causation: Number(e.causation), ...(data.gpa === undefined ? {} : { gpa: data.gpa }), ...(data.op === undefined ? {} : { op: data.op }) });
  }
  r.close();
  const caused = new Map<number, number[]>();
  for (const [s, e] of events) if (e.type === 'AccessRequested') caused.set(s, []);
  for (const s of [...events.keys()].sort((a, b) => a - b)) {
    for (let k = (events.get(s) as { causation: number }).causation; k !== 0; k = events.get(k)?.causation ?? 0) caused.get(k)?.push(s);
  }
  const exits = new Set(['MemoryFaultExit', 'MmioExit', 'KvmRunFailed', 'InjectedAbort', 'DisallowedVmaFault']);
  return [...caused.entries()].map(([s, list]) => {
    const a = events.get(s) as { gpa?: bigint; op?: string };
    const end =
      list.find((k) => events.get(k)?.type === 'AccessEnded') ??
      list.find((k) => events.get(k)?.type === 'AccessCompleted' && events.get(k)?.gpa === a.gpa && events.get(k)?.op === a.op) ??
      list.find((k) => exits.has(events.get(k)?.type as string));
    return { seq: s, caused: list, end: end === undefined ? undefined : { seq: end, type: events.get(end)?.type as string } };
  });
}

async function view(log: string, out: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return mtepermIn(cwd, ['view', log, '-o', out]);
}

browserSuite('view in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => browser?.close());

  /** Opens the page from disk; collects console errors and page errors (any one fails the test). */
  async function open(file: string): Promise<{ page: Page; errors: string[]; loadMs: number }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    // No network: every request other than the file itself is refused and counted as an error.
    await page.route('**/*', (route) => (route.request().url().startsWith('file://') ? route.continue() : (errors.push(`request ${route.request().url()}`), route.abort())));
    await page.goto(`file://${file}`);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobal).mteperm !== undefined, null, { timeout: 120_000 });
    const state = await page.evaluate(() => {
      const m = (globalThis as unknown as PageGlobal).mteperm;
      return { ready: m?.ready, error: m?.error, loadMs: m?.loadMs ?? 0 };
    });
    expect(state.error).toBeUndefined();
    expect(state.ready).toBe(true);
    return { page, errors, loadMs: state.loadMs };
  }

  it.each(BUILTINS)('builtin:%s: heading, maps, exits; clicking the last access shows what it caused and its end', async (name) => {
    const log = join(cwd, `${name}.mtelog`);
    expect((await mtepermIn(cwd, ['run', `builtin:${name}`, '--log', log])).code).toBe(0);
    const html = join(cwd, `${name}.html`);
    const r = await view(log, html);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { page, errors } = await open(html);
    try {
      expect(await page.textContent('#title')).toMatch(new RegExp(`^${name}: kernel (baseline|v1|v2|drop-check)$`));
      expect(await page.locator('#damaged').count()).toBe(0);
      expect(await page.textContent('#sub')).toContain('state rebuilt: matches the recorded hash');
      expect(await page.locator('#maps canvas').count()).toBeGreaterThan(0);
      const accesses = accessesOf(log);
      const last = accesses.at(-1);
      if (last !== undefined) {
        await page.locator(`#events .row:has-text("#${last.seq} ") >> nth=0`).click();
        expect(await page.textContent('#access-title')).toBe(`access #${last.seq} AccessRequested: ${last.caused.length} caused events`);
        const shown = await page.$$eval('#caused-list a', (as) => as.map((a) => a.textContent));
        expect(shown.length).toBe(last.caused.length);
        expect(await page.textContent('#access-end')).toMatch(last.end === undefined ? /log ends before/ : new RegExp(`^#${last.end.seq} ${last.end.type}`));
      }
      await page.screenshot({ path: join(SHOTS, `${name}.png`) });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('the cover letter case: the STG of step 8 ends in KVM_EXIT_MEMORY_FAULT flags 0x10 (DOMAIN A.2.5), found by IPA', async () => {
    const log = join(cwd, 'vfio.mtelog');
    await mtepermIn(cwd, ['run', 'builtin:vfio-passthrough-mte', '--log', log]);
    const html = join(cwd, 'vfio.html');
    await view(log, html);
    const { page, errors } = await open(html);
    try {
      await page.fill('#search', '0x10000040');
      // Events about that 4 KiB page: the BAR's memslot, the access, its two faults, the map request, the map, the policy, the exit, KVM_RUN's AccessEnded.
      expect(await page.textContent('#count')).toBe('9 of 24');
      expect(await page.textContent('#right-title')).toContain('0x10000000 + 0x200000 (level 2)');
      expect(await page.textContent('#right-title')).toContain('Normal, NoTagAccess');
      await page.locator('#events .row:has-text("AccessRequested")').click();
      expect(await page.textContent('#access-end')).toMatch(/^#23 AccessEnded step=8 gpa=0x10000040 outcome=exit ret=-14 esr=0x92000045 exit_reason=KVM_EXIT_MEMORY_FAULT exit_gpa=0x10000000 exit_size=0x1000 exit_flags=0x10/);
      expect(await page.locator('#exits .row').count()).toBe(1);
      await page.screenshot({ path: join(SHOTS, 'vfio-passthrough-mte.search.png') });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('a large log: virtualised (a few dozen rows in the DOM), the last access clickable after scrolling, load time measured', async () => {
    const accesses = Number(process.env['MTEPERM_VIEW_ACCESSES'] ?? 20_000);
    const steps = ['  - create_vm: { ipa_bits: 40 }', '  - enable_cap: KVM_CAP_ARM_MTE', '  - enable_cap: KVM_CAP_ARM_MTE_PERM', '  - set_user_memory_region: { slot: 0, guest_phys_addr: "0x40000000", memory_size: "1GiB", backing: file-shared }', '  - create_vcpu: { id: 0 }'];
    for (let i = 0; i < accesses; i++) steps.push(`  - access: { vcpu: 0, gpa: "0x${(0x4000_0000 + i * 0x1000).toString(16)}", op: ${i % 10 === 9 ? 'stg' : i % 2 === 1 ? 'write' : 'read'} }`);
    const file = join(cwd, 'big.yaml');
    writeFileSync(file, `name: big-log\nhost: { cpus: [{ count: 2, features: [mte3, mte_perm, s2fwb] }] }\nsteps:\n${steps.join('\n')}\n`);
    const log = join(cwd, 'big.mtelog');
    expect((await mtepermIn(cwd, ['run', file, '--log', log])).code).toBe(0);
    const html = join(cwd, 'big.html');
    const t0 = Date.now();
    expect((await view(log, html)).code).toBe(0);
    const viewMs = Date.now() - t0;
    const { page, errors, loadMs } = await open(html);
    try {
      const events = accessesOf(log);
      const total = (await page.evaluate(() => (globalThis as unknown as PageGlobal).mteperm?.events)) as number;
      expect(total).toBeGreaterThan(accesses * 4);
      expect(await page.locator('#events .row').count()).toBeLessThan(120);
      // Scroll to the end: the last rows appear (and still only a few dozen nodes).
      await page.$eval('#events', (el) => (el.scrollTop = el.scrollHeight));
      await page.waitForSelector(`#events .row:has-text("#${total} ")`);
      expect(await page.locator('#events .row').count()).toBeLessThan(120);
      const last = events.at(-1) as (typeof events)[number];
      await page.fill('#search', `0x${(0x4000_0000 + (accesses - 1) * 0x1000).toString(16)}`);
      await page.locator(`#events .row:has-text("#${last.seq} ")`).click();
      // The last access is an STG to a page-cache page mapped NoTagAccess: KVM_RUN ends it with the exit (DOMAIN A.2.5).
      expect(await page.textContent('#access-end')).toMatch(new RegExp(`^#${last.end?.seq} AccessEnded .*outcome=exit .*exit_reason=KVM_EXIT_MEMORY_FAULT .*exit_flags=0x10`));
      await page.screenshot({ path: join(SHOTS, 'large-log.png') });
      expect(errors).toEqual([]);
      process.stderr.write(`view.spec: large log ${total} events: view ${viewMs} ms, page ${(statSync(html).size / 1e6).toFixed(1)} MB, load ${Math.round(loadMs)} ms\n`);
    } finally {
      await page.close();
    }
  });

  it('a damaged log: the page shows what could be read and says so in its heading; exit 2 with one line', async () => {
    const log = join(cwd, 'torn.mtelog');
    await mtepermIn(cwd, ['run', 'builtin:wb-device-memory', '--log', log]);
    truncateSync(log, statSync(log).size - 7);
    const html = join(cwd, 'torn.html');
    const r = await view(log, html);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/torn\.mtelog: byte \d+: /);
    const { page, errors } = await open(html);
    try {
      expect(await page.textContent('#damaged')).toMatch(/^Damaged log: byte \d+: .*Shown: the \d+ events before it\.$/);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('view: bad input (CONTRACT §2)', () => {
  it.each([
    ['a missing log', () => join(cwd, 'none.mtelog'), /none\.mtelog: no such log file/],
    ['garbage', () => {
      const p = join(cwd, 'garbage.mtelog');
      writeFileSync(p, Buffer.alloc(4096, 0x41));
      return p;
    }, /garbage\.mtelog/],
  ])('%s: one line naming the file, exit 2, no page', async (_what, make, message) => {
    const log = make();
    const r = await view(log, join(cwd, 'bad.html'));
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(cwd, 'bad.html'))).toBe(false);
  });

  it('writes <LOG>.html by default; the page is self-contained (no src= or href= to anything)', async () => {
    const log = join(cwd, 'd.mtelog');
    await mtepermIn(cwd, ['run', 'builtin:virtiofs-dax', '--log', log]);
    const r = await mtepermIn(cwd, ['view', log]);
    expect(r.code).toBe(0);
    const html = readFileSync(`${log}.html`, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/\s(src|href)=/);
    const reader = openLogReader(log);
    const events = reader.verify().records;
    reader.close();
    expect(r.stdout).toMatch(new RegExp(`^${log.replace(/[.]/g, '\\.')}\\.html: ${events} events, \\d+\\.\\d MB of data; open it in a browser\n$`));
  });
});
