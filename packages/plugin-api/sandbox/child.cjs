'use strict';
// The sandboxed side of `--sandbox` (src/host/sandbox.ts): one policy in a Node process started
// with the permission model (read access to this folder and the policy's own, nothing else).
// Requests arrive on fd 0 and answers leave on fd 3, as frames `u32 length | v8.serialize(msg)`;
// both are read and written synchronously, so a `decide` that asks `ctx.tagStorage.hasTagStorage`
// can wait for the host's answer in the middle of the call. fd 1 and 2 are the host's stderr.
const fs = require('node:fs');
const v8 = require('node:v8');
const { createContext, Script } = require('node:vm');
const { classify, errorText } = require('./classify.cjs');

const IN = 0;
const OUT = 3;
const realExit = process.reallyExit.bind(process);

function readExactly(n) {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    let k;
    try {
      k = fs.readSync(IN, buf, got, n - got, null);
    } catch (e) {
      if (e && e.code === 'EAGAIN') continue;
      throw e;
    }
    if (k === 0) realExit(0); // the host went away
    got += k;
  }
  return buf;
}

function receive() {
  const len = readExactly(4).readUInt32LE(0);
  return v8.deserialize(readExactly(len));
}

function send(msg) {
  const body = v8.serialize(msg);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length, 0);
  const frame = Buffer.concat([head, body]);
  let done = 0;
  while (done < frame.length) done += fs.writeSync(OUT, frame, done);
}

// As in the host (src/host/process-guard.ts): ending the process is refused while plugin code
// runs, and recorded, so that the answer is the one an in-process run gives.
let exited;
const EXITS = ['exit', 'reallyExit', 'abort', 'kill'];
for (const m of EXITS) {
  const call = `process.${m}`;
  Object.defineProperty(process, m, {
    configurable: true,
    writable: true,
    value() {
      if (exited === undefined) exited = call;
      const e = new Error(`${call}() is refused to plugins`);
      e.name = 'PluginExitRefused';
      throw e;
    },
  });
}
function exitedResult(what) {
  const r = exited === undefined ? undefined : { ok: false, reason: 'exited', message: `${what} called ${exited}(), which is refused to plugins` };
  exited = undefined;
  return r;
}

// Frozen views as src/views.ts builds them: null-rooted, frozen, functions answering from facts.
const VIEW_PROTO = Object.freeze(Object.create(null));
function frozenCopy(fields) {
  return Object.freeze(Object.assign(Object.create(VIEW_PROTO), fields));
}
function freezeFault(fault) {
  const view = Object.assign(Object.create(VIEW_PROTO), fault);
  view.memslot = frozenCopy(fault.memslot);
  view.stage2 = frozenCopy(fault.stage2);
  return Object.freeze(view);
}
function policyContext(facts) {
  const remaining = facts.tagPoolRemaining;
  const tagStorage = Object.create(VIEW_PROTO);
  tagStorage.remaining = remaining;
  tagStorage.allocatedPages = facts.tagPagesAllocated;
  const canAllocate = (pages = 1) => Number.isInteger(pages) && pages > 0 && pages <= remaining;
  // The host owns the record of pages with tag storage: ask it, and wait for the answer.
  const hasTagStorage = (ipa) => {
    if (typeof ipa !== 'bigint') return false;
    send({ type: 'query', ipa });
    return receive().value === true;
  };
  tagStorage.canAllocate = canAllocate;
  tagStorage.hasTagStorage = hasTagStorage;
  Object.freeze(tagStorage);
  const ctx = Object.create(VIEW_PROTO);
  ctx.kernel = facts.kernel;
  ctx.tagPoolRemaining = remaining;
  ctx.faultsSeen = facts.faultsSeen;
  ctx.tagStorage = tagStorage;
  return Object.freeze(ctx);
}

function exportOf(mod) {
  if (mod !== null && typeof mod === 'object' && !('decide' in mod) && 'default' in mod) return mod.default;
  return mod;
}

// What the host needs to run the contract check on its side (assertFaultPolicy).
function shapeOf(p) {
  const plain = (v) => (v === null || (typeof v !== 'object' && typeof v !== 'function') ? v : typeof v === 'function' ? { function: true } : Array.isArray(v) ? { array: true } : { object: true });
  if (p === null || (typeof p !== 'object' && typeof p !== 'function')) return { value: plain(p) };
  return { value: { object: true }, name: plain(p.name), version: plain(p.version), decide: plain(p.decide) };
}

// The same watchdog as in the host (src/host/policy-call.ts), so that an overrun is cut off as it
// would be in process and the process lives on; the worker's kill is only the backstop.
const slot = { run: undefined };
const guardContext = createContext({ slot });
const guard = new Script('slot.run()', { filename: 'mteperm:policy-guard' });
/** Runs `fn` under a `ms` watchdog: true if it finished, false if it was cut off. */
function withBudget(ms, fn) {
  if (!(ms > 0) || !Number.isFinite(ms)) {
    fn();
    return true;
  }
  slot.run = fn;
  try {
    guard.runInContext(guardContext, { timeout: Math.max(1, Math.ceil(ms)) });
    return true;
  } catch (e) {
    if (e && e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return false;
    throw e;
  } finally {
    slot.run = undefined;
  }
}

let policy;
let kinds = new Set();
const isKind = (v) => typeof v === 'string' && kinds.has(v);

send({ type: 'ready' });
for (;;) {
  const msg = receive();
  if (msg.type === 'load') {
    kinds = new Set(msg.kinds);
    let mod;
    let error;
    let finished = true;
    try {
      finished = withBudget(msg.loadBudgetMs, () => {
        mod = require(msg.file);
      });
    } catch (e) {
      const str = (k) => {
        try {
          const v = e == null ? undefined : e[k];
          return typeof v === 'string' ? v : undefined;
        } catch {
          return undefined;
        }
      };
      error = { code: str('code'), name: str('name'), message: str('message'), text: errorText(e) };
    }
    const failed = exitedResult('loading');
    if (failed !== undefined) send({ type: 'load-failed', ...failed });
    else if (!finished) send({ type: 'load-failed', ok: false, reason: 'timeout', message: `loading did not finish within ${msg.loadBudgetMs} ms` });
    else if (error !== undefined) send({ type: 'load-threw', error });
    else {
      policy = exportOf(mod);
      send({ type: 'loaded', shape: shapeOf(policy) });
    }
  } else if (msg.type === 'decide') {
    let result;
    const finished = withBudget(msg.budgetMs, () => {
      result = classify(policy, freezeFault(msg.fault), policyContext(msg.facts), isKind);
    });
    if (!finished) result = { ok: false, reason: 'timeout', message: `decide() did not return within ${msg.budgetMs} ms` };
    send({ type: 'result', result: exitedResult('decide()') ?? result });
  }
}
