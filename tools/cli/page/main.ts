// The `mteperm view` page: reads the data embedded by the view command (src/view/page-data.ts
// describes its layout), shows the timeline in virtual lists (@tanstack/virtual-core: only the
// visible rows are DOM nodes, so a 1 M-event log stays responsive), causation on click, the
// exits, and the stage-2 / shadow stage-2 maps on canvases.
import { elementScroll, observeElementOffset, observeElementRect, Virtualizer } from '@tanstack/virtual-core';

interface Leaf {
  ipa: string;
  level: number;
  size: string;
  pa: string;
  desc: string;
  memattr: string;
  notagaccess: boolean;
  tagged: boolean;
  /** ipa and size as numbers, set once on load (IPAs are < 2^52: exact as doubles). */
  at: number;
  len: number;
}
interface Memslot {
  slot: number;
  guest_phys_addr: string;
  memory_size: string;
  backing: string;
  mte_allowed: boolean;
}
interface Meta {
  log: string;
  scenario: string | null;
  kernel: string;
  producer: string;
  format_version: number;
  schema_version: number;
  policies: string[];
  events: number;
  state: { recorded_sha256: string | null; rebuilt_sha256: string; matches: boolean | null };
  damage: { offset: number; code: string; reason: string } | null;
  memslots: Memslot[];
  stage2: Leaf[];
  shadow_stage2: Leaf[];
  types: string[];
  keys: string[][];
}

interface Data {
  meta: Meta;
  n: number;
  seq: Float64Array;
  addr: Float64Array;
  parent: Int32Array;
  vcpu: Int32Array;
  type: Uint8Array;
  details: Uint8Array;
  lineStart: Uint32Array;
  childStart: Uint32Array;
  children: Uint32Array;
}

const ROW = 18;
const EXIT_TYPES = new Set(['MemoryFaultExit', 'MmioExit', 'KvmRunFailed', 'InjectedAbort']);
// How an access ends (ARCHITECTURE "Event flow"): AccessEnded where the log has it, else the last of these.
const END_TYPES = new Set(['AccessEnded', 'AccessCompleted', 'MemoryFaultExit', 'MmioExit', 'KvmRunFailed', 'InjectedAbort', 'DisallowedVmaFault']);
const COLOURS = { tagged: '#2e7d32', untagged: '#81c784', notagaccess: '#f9a825', device: '#5c6bc0', unmapped: '#e0e0e0' };

const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;
const decoder = new TextDecoder();
const timings: Record<string, number> = {};

async function load(): Promise<Data> {
  const b64 = ($('mteperm-data').textContent ?? '').trim();
  // atob is ~10x faster here than fetching a data: URL of the same bytes.
  const bin = atob(b64);
  const gz = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) gz[i] = bin.charCodeAt(i);
  const buf = await new Response(new Blob([gz]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
  timings['decompressed'] = performance.now();
  const bytes = new Uint8Array(buf);
  if (decoder.decode(bytes.subarray(0, 4)) !== 'MTEV') throw new Error('embedded data: bad magic');
  const metaLen = new DataView(buf).getUint32(4, true);
  const meta = JSON.parse(decoder.decode(bytes.subarray(8, 8 + metaLen))) as Meta;
  for (const l of [...meta.stage2, ...meta.shadow_stage2]) {
    l.at = Number(l.ipa);
    l.len = Number(l.size);
  }
  const n = meta.events;
  let o = Math.ceil((8 + metaLen) / 8) * 8;
  const addr = new Float64Array(buf, o, n);
  o += n * 8;
  const seqDelta = new Uint32Array(buf, o, n);
  o += n * 4;
  const causationDelta = new Uint32Array(buf, o, n);
  o += n * 4;
  const vcpu = new Int32Array(buf, o, n);
  o += n * 4;
  const type = new Uint8Array(buf, o, n);
  o += n;
  const details = bytes.subarray(o);

  const seq = new Float64Array(n);
  let s = 0;
  let dense = true;
  for (let i = 0; i < n; i++) {
    s += seqDelta[i] as number;
    seq[i] = s;
    if (s !== (seq[0] as number) + i) dense = false;
  }
  // Causation is a seq; the parent's index is found by offset when seqs are dense, else by search.
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const d = causationDelta[i] as number;
    if (d === 0) {
      parent[i] = -1;
      continue;
    }
    const c = (seq[i] as number) - d;
    parent[i] = dense ? c - (seq[0] as number) : indexOfSeq(seq, c);
  }
  // Children as one flat array (CSR): childStart[i]..childStart[i+1] are i's children, in seq order.
  const childStart = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const p = parent[i] as number;
    if (p >= 0) childStart[p + 1] = (childStart[p + 1] as number) + 1;
  }
  for (let i = 0; i < n; i++) childStart[i + 1] = (childStart[i + 1] as number) + (childStart[i] as number);
  const fill = childStart.slice(0, n);
  const children = new Uint32Array(childStart[n] as number);
  for (let i = 0; i < n; i++) {
    const p = parent[i] as number;
    if (p >= 0) children[(fill[p] as number)++] = i;
  }
  timings['indexed'] = performance.now();
  const lineStart = new Uint32Array(n + 1);
  let line = 0;
  for (let j = 0; j < details.length && line < n; j++) if (details[j] === 10) lineStart[++line] = j + 1;
  lineStart[n] = details.length + 1;
  timings['lines'] = performance.now();
  return { meta, n, seq, addr, parent, vcpu, type, details, lineStart, childStart, children };
}

function indexOfSeq(seq: Float64Array, s: number): number {
  let lo = 0;
  let hi = seq.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = seq[mid] as number;
    if (v === s) return mid;
    if (v < s) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

function fields(d: Data, i: number): [string, string][] {
  const line = decoder.decode(d.details.subarray(d.lineStart[i] as number, (d.lineStart[i + 1] as number) - 1));
  if (line.startsWith('\x1e')) return Object.entries(JSON.parse(line.slice(1)) as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
  const keys = d.meta.keys[d.type[i] as number] ?? [];
  const vals = line.split('\x1f');
  return keys.map((k, j) => [k, vals[j] ?? '']);
}

function typeName(d: Data, i: number): string {
  return d.meta.types[d.type[i] as number] ?? '?';
}

function exitName(reason: string): string {
  return reason === '39' ? 'KVM_EXIT_MEMORY_FAULT' : reason === '40' ? 'KVM_EXIT_ARM_NOTAG_ACCESS' : reason;
}

function summary(d: Data, i: number): string {
  return fields(d, i)
    .filter(([k]) => k !== 'cpus' && k !== 'sha256' && k !== 'args')
    .map(([k, v]) => `${k}=${k === 'exit_reason' ? exitName(v) : v}`)
    .join(' ');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The access an event belongs to: its AccessRequested ancestor (or itself). */
function accessRoot(d: Data, i: number): number {
  let k = i;
  let guard = 0;
  while (k >= 0 && typeName(d, k) !== 'AccessRequested' && guard++ < 1_000_000) k = d.parent[k] as number;
  return k >= 0 ? k : i;
}

/** Every event caused by `root`, directly or not, in seq order. */
function descendants(d: Data, root: number): number[] {
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const k = stack.pop() as number;
    for (let c = d.childStart[k] as number; c < (d.childStart[k + 1] as number); c++) {
      out.push(d.children[c] as number);
      stack.push(d.children[c] as number);
    }
  }
  return out.sort((a, b) => a - b);
}

/**
 * How an access ended: its AccessEnded where the log has one; else the AccessCompleted of the same
 * address and op (a nested access's own walk completes first); else the first exit it caused.
 */
function endOf(d: Data, root: number, caused: readonly number[]): number {
  // KVM_RUN's AccessEnded is caused by the event that ended the access, so it follows that event.
  for (const k of caused) if (typeName(d, k) === 'AccessEnded') return k;
  const want = new Map(fields(d, root));
  let exit = -1;
  for (const k of caused) {
    const t = typeName(d, k);
    if (t === 'AccessCompleted') {
      const f = new Map(fields(d, k));
      if (f.get('gpa') === want.get('gpa') && f.get('op') === want.get('op')) return k;
    } else if (exit < 0 && END_TYPES.has(t)) {
      exit = k;
    }
  }
  return exit;
}

interface VList {
  setItems(items: Uint32Array | null, count: number): void;
  refresh(): void;
  scrollTo(index: number): void;
}

/** A list whose rows exist only while visible: @tanstack/virtual-core computes which. */
function virtualList(el: HTMLElement, render: (row: HTMLDivElement, event: number) => void, onClick: (event: number) => void): VList {
  const inner = document.createElement('div');
  inner.style.position = 'relative';
  el.appendChild(inner);
  let items: Uint32Array | null = null;
  const at = (k: number): number => (items === null ? k : (items[k] as number));
  const v = new Virtualizer<HTMLElement, HTMLDivElement>({
    count: 0,
    getScrollElement: () => el,
    estimateSize: () => ROW,
    scrollToFn: elementScroll,
    observeElementRect,
    observeElementOffset,
    overscan: 10,
    onChange: () => draw(),
  });
  function draw(): void {
    inner.style.height = `${v.getTotalSize()}px`;
    const rows = v.getVirtualItems();
    while (inner.childElementCount > rows.length) inner.lastChild?.remove();
    while (inner.childElementCount < rows.length) {
      const r = document.createElement('div');
      r.className = 'row';
      r.addEventListener('click', () => onClick(Number(r.dataset['index'])));
      inner.appendChild(r);
    }
    rows.forEach((item, j) => {
      const r = inner.children[j] as HTMLDivElement;
      const e = at(item.index);
      r.style.top = `${item.start}px`;
      r.dataset['index'] = String(e);
      render(r, e);
    });
  }
  v._didMount();
  return {
    setItems(next, count) {
      items = next;
      v.setOptions({ ...v.options, count });
      v._willUpdate();
      v.measure();
      el.scrollTop = 0;
      draw();
    },
    refresh: draw,
    scrollTo(index) {
      v.scrollToIndex(index, { align: 'center' });
      setTimeout(draw, 0);
    },
  };
}

function leafColour(l: Leaf): string {
  if (l.memattr === '0b0001') return COLOURS.device;
  if (l.notagaccess) return COLOURS.notagaccess;
  return l.tagged ? COLOURS.tagged : COLOURS.untagged;
}

function leafText(l: Leaf): string {
  const what = l.memattr === '0b0001' ? 'Device' : l.notagaccess ? 'Normal, NoTagAccess' : l.tagged ? 'Normal, tagged' : 'Normal, untagged';
  return `${l.ipa} + ${l.size} (level ${l.level}) -> PA ${l.pa}: ${what}, MemAttr ${l.memattr}, desc ${l.desc}`;
}

interface Band {
  label: string;
  base: number;
  size: number;
  leaves: Leaf[];
}

/** A canvas per map: one band per region, each to its own scale (address spaces are sparse). */
function drawMap(title: string, bands: Band[], onPick: (ipa: number) => void): HTMLElement {
  const box = document.createElement('div');
  const h = document.createElement('h2');
  h.textContent = title;
  box.appendChild(h);
  if (bands.length === 0) {
    const p = document.createElement('div');
    p.className = 'muted';
    p.textContent = 'no leaves';
    box.appendChild(p);
    return box;
  }
  const width = Math.max(600, Math.min(1400, window.innerWidth - 40));
  const labelW = 230;
  const bandH = 22;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = bands.length * (bandH + 6);
  const g = canvas.getContext('2d') as CanvasRenderingContext2D;
  g.font = '12px system-ui, sans-serif';
  const barW = width - labelW - 10;
  bands.forEach((b, k) => {
    const y = k * (bandH + 6);
    g.fillStyle = '#212121';
    g.fillText(b.label, 0, y + 15);
    g.fillStyle = COLOURS.unmapped;
    g.fillRect(labelW, y, barW, bandH);
    for (const l of b.leaves) {
      const x0 = labelW + ((l.at - b.base) / b.size) * barW;
      const w = Math.max(1, (l.len / b.size) * barW);
      g.fillStyle = leafColour(l);
      g.fillRect(x0, y, Math.min(w, labelW + barW - x0), bandH);
    }
  });
  const pick = (ev: MouseEvent): { band: Band; ipa: number } | undefined => {
    const r = canvas.getBoundingClientRect();
    const k = Math.floor((ev.clientY - r.top) / (bandH + 6));
    const band = bands[k];
    const x = ev.clientX - r.left - labelW;
    if (band === undefined || x < 0 || x > barW) return undefined;
    return { band, ipa: band.base + Math.floor((x / barW) * band.size) };
  };
  canvas.addEventListener('mousemove', (ev) => {
    const p = pick(ev);
    if (p === undefined) return void (canvas.title = '');
    const leaf = p.band.leaves.find((l) => l.at <= p.ipa && p.ipa < l.at + l.len);
    canvas.title = leaf === undefined ? `0x${p.ipa.toString(16)}: not mapped` : leafText(leaf);
  });
  canvas.addEventListener('click', (ev) => {
    const p = pick(ev);
    if (p !== undefined) onPick(p.ipa);
  });
  box.appendChild(canvas);
  return box;
}

function bandsOf(meta: Meta): { stage2: Band[]; shadow: Band[] } {
  const stage2: Band[] = meta.memslots.map((m) => ({
    label: `slot ${m.slot} ${m.backing} ${m.guest_phys_addr}`,
    base: Number(m.guest_phys_addr),
    size: Number(m.memory_size),
    leaves: meta.stage2.filter((l) => l.at >= Number(m.guest_phys_addr) && l.at < Number(m.guest_phys_addr) + Number(m.memory_size)),
  }));
  // The shadow stage 2 is keyed by the L2 IPA: one band over the range its leaves span.
  const shadow: Band[] = [];
  if (meta.shadow_stage2.length > 0) {
    // A loop, not Math.min(...leaves): spreading 10^5 arguments overflows the stack.
    let lo = Infinity;
    let hi = -Infinity;
    for (const l of meta.shadow_stage2) {
      lo = Math.min(lo, l.at);
      hi = Math.max(hi, l.at + l.len);
    }
    shadow.push({ label: `L2 IPA 0x${lo.toString(16)}..0x${hi.toString(16)}`, base: lo, size: hi - lo, leaves: meta.shadow_stage2 });
  }
  return { stage2, shadow };
}

function legend(): HTMLElement {
  const div = document.createElement('div');
  div.className = 'legend';
  const items: [string, string][] = [
    [COLOURS.tagged, 'Normal, tagged'],
    [COLOURS.untagged, 'Normal, untagged'],
    [COLOURS.notagaccess, 'NoTagAccess'],
    [COLOURS.device, 'Device'],
    [COLOURS.unmapped, 'not mapped'],
  ];
  div.innerHTML = items.map(([c, t]) => `<span><i style="background:${c}"></i>${t}</span>`).join('') + '<span class="muted">click a map to search that IPA</span>';
  return div;
}

declare global {
  interface Window {
    mteperm?: { ready: boolean; loadMs: number; timings?: Record<string, number>; events: number; error?: string; select(seq: number): void; search(ipa: string): number };
  }
}

async function start(): Promise<void> {
  const t0 = performance.now();
  const d = await load();
  const m = d.meta;
  $('title').textContent = `${m.scenario ?? m.log}: kernel ${m.kernel}`;
  document.title = `${m.scenario ?? m.log} (kernel ${m.kernel}) - mteperm view`;
  const state = m.state.matches === true ? 'state rebuilt: matches the recorded hash' : m.state.matches === false ? 'state rebuilt: DIFFERS from the recorded hash' : 'no recorded state hash';
  const sub = $('sub');
  sub.innerHTML = `${esc(m.log)} · ${m.events.toLocaleString('en')} events · ${esc(m.producer)} (format ${m.format_version}, schema ${m.schema_version}) · policies [${esc(m.policies.join(', '))}] · ${state}`;
  if (m.damage !== null) {
    const warn = document.createElement('div');
    warn.className = 'damaged';
    warn.id = 'damaged';
    warn.textContent = `Damaged log: byte ${m.damage.offset}: ${m.damage.reason} (${m.damage.code}). Shown: the ${m.events} events before it.`;
    sub.after(warn);
  }

  let selected = -1;
  let caused = new Set<number>();
  let end = -1;
  const renderRow = (r: HTMLDivElement, e: number): void => {
    const t = typeName(d, e);
    const v = d.vcpu[e] as number;
    r.className = `row${e === selected ? ' sel' : e === end ? ' end' : caused.has(e) ? ' caused' : ''}`;
    r.innerHTML = `<span class="muted">#${d.seq[e]}</span> ${v >= 0 ? `vcpu${v}` : '     '} <span class="${EXIT_TYPES.has(t) ? 't-exit' : `t-${t}`}">${t}</span> ${esc(summary(d, e))}`;
  };

  const events = virtualList($('events'), renderRow, (e) => select(e));
  const exitList = virtualList($('exits'), renderRow, (e) => {
    select(e);
    events.scrollTo(e);
  });
  const exitIdx: number[] = [];
  for (let i = 0; i < d.n; i++) if (EXIT_TYPES.has(typeName(d, i))) exitIdx.push(i);
  timings['events-list'] = performance.now();
  exitList.setItems(Uint32Array.from(exitIdx), exitIdx.length);
  $('exit-count').textContent = `${exitIdx.length.toLocaleString('en')} (KVM_RUN exits, failures, injected aborts)`;

  let filter: Uint32Array | null = null;
  const showAll = (): void => {
    filter = null;
    applyView();
  };
  const applyView = (): void => {
    const accessesOnly = ($('only-access') as HTMLInputElement).checked;
    let items = filter;
    if (accessesOnly) {
      const src = filter ?? null;
      const out: number[] = [];
      const count = src === null ? d.n : src.length;
      for (let k = 0; k < count; k++) {
        const e = src === null ? k : (src[k] as number);
        if (typeName(d, e) === 'AccessRequested') out.push(e);
      }
      items = Uint32Array.from(out);
    }
    events.setItems(items, items === null ? d.n : items.length);
    $('count').textContent = items === null ? `${d.n.toLocaleString('en')}` : `${items.length.toLocaleString('en')} of ${d.n.toLocaleString('en')}`;
  };

  function select(e: number): void {
    const root = accessRoot(d, e);
    const isAccess = typeName(d, root) === 'AccessRequested';
    selected = e;
    caused = new Set(descendants(d, isAccess ? root : e));
    if (isAccess) caused.add(root);
    end = isAccess ? endOf(d, root, [...caused].filter((k) => k !== root).sort((a, b) => a - b)) : -1;
    events.refresh();
    exitList.refresh();
    const link = (k: number): string => `<a data-e="${k}">#${d.seq[k]} ${typeName(d, k)}</a>`;
    const parts: string[] = [];
    parts.push(`<h3>#${d.seq[e]} ${typeName(d, e)}${(d.vcpu[e] as number) >= 0 ? ` (vcpu ${d.vcpu[e]})` : ''}</h3><table>`);
    for (const [k, v] of fields(d, e)) parts.push(`<tr><td>${esc(k)}</td><td>${esc(k === 'exit_reason' ? `${v} (${exitName(v)})` : v)}</td></tr>`);
    parts.push('</table>');
    const chain: number[] = [];
    for (let k = d.parent[e] as number; k >= 0 && chain.length < 64; k = d.parent[k] as number) chain.push(k);
    if (chain.length > 0) parts.push(`<h3>caused by</h3>${chain.map(link).join(' ← ')}`);
    if (isAccess) {
      const list = [...caused].filter((k) => k !== root).sort((a, b) => a - b);
      parts.push(`<h3 id="access-title">access ${link(root)}: ${list.length} caused events</h3>`);
      parts.push(`<div id="caused-list">${list.slice(0, 500).map((k) => `<div class="${k === end ? 'end' : ''}">${link(k)} <span class="muted">${esc(summary(d, k))}</span></div>`).join('')}${list.length > 500 ? `<div class="muted">… ${list.length - 500} more</div>` : ''}</div>`);
      parts.push(`<h3>end</h3><div id="access-end">${end >= 0 ? `${link(end)} <span>${esc(summary(d, end))}</span>` : '<span class="muted">the log ends before this access does</span>'}</div>`);
    } else {
      const list = [...caused].sort((a, b) => a - b);
      if (list.length > 0) parts.push(`<h3>caused ${list.length} events</h3>${list.slice(0, 500).map(link).join('<br>')}`);
    }
    const detail = $('detail');
    detail.innerHTML = parts.join('');
    detail.querySelectorAll('a[data-e]').forEach((a) =>
      a.addEventListener('click', () => {
        const k = Number((a as HTMLElement).dataset['e']);
        select(k);
        events.scrollTo(filter === null ? k : Math.max(0, filter.indexOf(k)));
      }),
    );
  }

  function search(text: string): number {
    const t = text.trim();
    if (t === '') {
      showAll();
      return d.n;
    }
    let ipa: number;
    try {
      ipa = Number(BigInt(t));
    } catch {
      $('count').textContent = `'${t}' is not an address`;
      return -1;
    }
    // Events about the 4 KiB page holding that IPA (an access, its fault, map and exit).
    const page = Math.floor(ipa / 4096) * 4096;
    const out: number[] = [];
    for (let i = 0; i < d.n; i++) {
      const a = d.addr[i] as number;
      if (a >= page && a < page + 4096) out.push(i);
    }
    filter = Uint32Array.from(out);
    applyView();
    const leaf = m.stage2.find((l) => l.at <= ipa && ipa < l.at + l.len) ?? m.shadow_stage2.find((l) => l.at <= ipa && ipa < l.at + l.len);
    $('right-title').textContent = leaf === undefined ? `exits · 0x${ipa.toString(16)}: no leaf` : `exits · leaf: ${leafText(leaf)}`;
    return out.length;
  }

  const input = $('search') as HTMLInputElement;
  input.addEventListener('input', () => search(input.value));
  $('clear').addEventListener('click', () => {
    input.value = '';
    $('right-title').textContent = 'exits';
    showAll();
  });
  $('only-access').addEventListener('change', applyView);

  const maps = $('maps');
  const bands = bandsOf(m);
  const pickIpa = (ipa: number): void => {
    input.value = `0x${ipa.toString(16)}`;
    search(input.value);
  };
  maps.appendChild(drawMap(`stage 2: ${m.stage2.length} leaves`, bands.stage2, pickIpa));
  maps.appendChild(drawMap(`shadow stage 2: ${m.shadow_stage2.length} leaves`, bands.shadow, pickIpa));
  maps.appendChild(legend());
  timings['maps'] = performance.now();
  showAll();
  timings['shown'] = performance.now();

  window.mteperm = {
    timings: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v - t0)])),
    ready: true,
    loadMs: performance.now() - t0,
    events: d.n,
    select: (s: number) => select(indexOfSeq(d.seq, s)),
    search,
  };
}

start().catch((e: unknown) => {
  $('sub').textContent = `this page could not read its data: ${String(e)}`;
  window.mteperm = { ready: false, loadMs: 0, events: 0, error: String(e), select: () => {}, search: () => -1 };
});
