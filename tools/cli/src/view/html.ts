import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The page's script, bundled by esbuild at build time (scripts/bundle-page.cjs) into dist/. The
 * path is the same from src/view (Jest) and dist/view (the binary).
 */
export const PAGE_SCRIPT = join(__dirname, '..', '..', 'dist', 'view-page.js');

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const STYLE = `
:root { font: 13px/1.35 system-ui, sans-serif; color: #212121; }
body { margin: 0; display: grid; grid-template-rows: auto auto 1fr; height: 100vh; }
header { padding: 8px 12px; background: #263238; color: #eceff1; }
header h1 { font-size: 16px; margin: 0 0 2px; }
header .sub { color: #b0bec5; }
header .damaged { color: #ffab91; font-weight: bold; }
#maps { padding: 6px 12px; border-bottom: 1px solid #ccc; max-height: 34vh; overflow: auto; }
#maps h2 { font-size: 13px; margin: 4px 0; }
#maps canvas { display: block; cursor: crosshair; }
.legend span { display: inline-block; margin-right: 12px; }
.legend i { display: inline-block; width: 11px; height: 11px; margin-right: 4px; vertical-align: -1px; border: 1px solid #9e9e9e; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); min-height: 0; }
.pane { display: flex; flex-direction: column; min-height: 0; border-right: 1px solid #ccc; }
.bar { padding: 4px 8px; background: #eceff1; display: flex; gap: 8px; align-items: center; }
.bar input { font: inherit; }
.bar input#search { width: 14em; }
.list { flex: 1; overflow: auto; position: relative; font-family: ui-monospace, monospace; font-size: 12px; }
.row { position: absolute; left: 0; right: 0; height: 18px; white-space: nowrap; padding: 0 6px; cursor: pointer; overflow: hidden; text-overflow: ellipsis; }
.row:hover { background: #e3f2fd; }
.row.sel { background: #bbdefb; }
.row.caused { background: #fff8e1; }
.row.end { background: #ffe0b2; font-weight: bold; }
.t-AccessRequested { color: #1565c0; }
.t-exit { color: #c62828; }
#detail { flex: 1; overflow: auto; padding: 6px 10px; font-family: ui-monospace, monospace; font-size: 12px; }
#detail h3 { font: bold 13px system-ui, sans-serif; margin: 8px 0 4px; }
#detail table { border-collapse: collapse; }
#detail td { padding: 0 8px 0 0; vertical-align: top; }
#detail a { color: #1565c0; cursor: pointer; }
.muted { color: #757575; }
`;

/** One self-contained page: styles, data and script inline, nothing fetched from the network. */
export function renderViewHtml(title: string, blobBase64: string, script: string): string {
  // A script element ends at the first "</script": the bundle must not contain one.
  const safeScript = script.replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>${STYLE}</style></head>
<body>
<header><h1 id="title">${esc(title)}</h1><div class="sub" id="sub">loading…</div></header>
<section id="maps"></section>
<main>
  <div class="pane"><div class="bar"><b>events</b><span id="count" class="muted"></span>
    <label>IPA <input id="search" placeholder="0x80001000" spellcheck="false"></label><button id="clear">all</button>
    <label><input type="checkbox" id="only-access"> accesses only</label></div>
    <div class="list" id="events"></div></div>
  <div class="pane"><div class="bar"><b id="right-title">exits</b><span id="exit-count" class="muted"></span></div>
    <div class="list" id="exits" style="flex: 0 0 30%"></div>
    <div id="detail"><span class="muted">click an event: its causes, what it caused and how its access ended</span></div></div>
</main>
<script type="application/octet-stream" id="mteperm-data">${blobBase64}</script>
<script>${safeScript}</script>
</body></html>
`;
}

export function pageScript(): string {
  return readFileSync(PAGE_SCRIPT, 'utf8');
}
