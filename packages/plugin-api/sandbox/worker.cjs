'use strict';
// The go-between of `--sandbox` (src/host/sandbox.ts): a worker thread of the host that owns the
// sandboxed child process, keeps its time limits with ordinary timers (the host's main thread is
// blocked in Atomics.wait meanwhile) and hands each answer back through a SharedArrayBuffer:
// ctrl[0] counts answers, ctrl[1] is the length of the last one, `data` its v8-serialized bytes.
// Host and worker strictly alternate: one request (or query answer) in, one message out.
const { parentPort, workerData } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const v8 = require('node:v8');

const { sab, execArgv, childScript, file, kinds, loadBudgetMs, startupLimitMs } = workerData;
const ctrl = new Int32Array(sab, 0, 2);
// The child keeps the limits itself with node:vm's watchdog, as the host does in process; the
// worker kills it only if it has not answered this long after its limit (a blocking syscall, a
// watchdog that could not interrupt it), and the next call then starts a fresh process.
const BACKSTOP_MS = 1000;
const data = new Uint8Array(sab, 8);

function post(msg) {
  let body = v8.serialize(msg);
  if (body.length > data.length) {
    // Only a plugin's error text can be this long: cut it, as a log record would not hold it anyway.
    const r = msg.result ?? msg;
    body = v8.serialize({ ...msg, ...(msg.result ? { result: { ...r, message: String(r.message).slice(0, 4096) } } : { message: String(r.message).slice(0, 4096) }) });
  }
  data.set(body);
  Atomics.store(ctrl, 1, body.length);
  Atomics.add(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
}

let child; // { proc, buf, onFrame, ready }
let timer;

function frame(msg) {
  const body = v8.serialize(msg);
  const head = Buffer.alloc(4);
  head.writeUInt32LE(body.length, 0);
  child.proc.stdin.write(Buffer.concat([head, body]));
}

function kill() {
  if (child === undefined) return;
  const { proc } = child;
  child = undefined;
  proc.kill('SIGKILL');
}

function limit(ms, onExpiry) {
  clearTimeout(timer);
  timer = setTimeout(() => {
    kill();
    onExpiry();
  }, ms);
}

/** Starts the child and loads the policy; `done(msg)` gets loaded / load-threw / load-failed. */
function startAndLoad(done) {
  const proc = spawn(process.execPath, [...execArgv, childScript], { stdio: ['pipe', 2, 2, 'pipe'] });
  const me = { proc, buf: Buffer.alloc(0), onFrame: undefined };
  child = me;
  proc.stdin.on('error', () => {});
  proc.stdio[3].on('data', (chunk) => {
    if (child !== me) return;
    me.buf = Buffer.concat([me.buf, chunk]);
    while (me.buf.length >= 4) {
      const len = me.buf.readUInt32LE(0);
      if (me.buf.length < 4 + len) break;
      const msg = v8.deserialize(me.buf.subarray(4, 4 + len));
      me.buf = me.buf.subarray(4 + len);
      me.onFrame(msg);
    }
  });
  proc.on('exit', (code, signal) => {
    if (child !== me) return; // killed by us: already answered
    child = undefined;
    clearTimeout(timer);
    const onEnd = me.onEnd;
    if (onEnd !== undefined) onEnd(signal === null ? `code ${code}` : signal);
  });
  me.onEnd = (how) => done({ type: 'load-failed', ok: false, reason: 'exited', message: `the sandbox process ended (${how}) while loading` });
  limit(startupLimitMs, () => done({ type: 'load-failed', ok: false, reason: 'timeout', message: `the sandbox process did not start within ${startupLimitMs} ms` }));
  me.onFrame = (msg) => {
    if (msg.type === 'ready') {
      limit(loadBudgetMs + BACKSTOP_MS, () => done({ type: 'load-failed', ok: false, reason: 'timeout', message: `loading did not finish within ${loadBudgetMs} ms` }));
      frame({ type: 'load', file, kinds, loadBudgetMs });
      return;
    }
    clearTimeout(timer);
    if (msg.type === 'loaded') me.onEnd = undefined;
    else kill();
    done(msg);
  };
}

function decide(request) {
  const ask = () => {
    const me = child;
    const what = 'decide()';
    me.onEnd = (how) => post({ type: 'result', result: { ok: false, reason: 'exited', message: `the sandbox process ended (${how}) during ${what}` } });
    me.onFrame = (msg) => {
      if (msg.type === 'query') return post(msg);
      clearTimeout(timer);
      me.onEnd = undefined;
      post(msg);
    };
    limit(request.budgetMs + BACKSTOP_MS, () => post({ type: 'result', result: { ok: false, reason: 'timeout', message: `decide() did not return within ${request.budgetMs} ms` } }));
    frame({ type: 'decide', fault: request.fault, facts: request.facts, budgetMs: request.budgetMs });
  };
  if (child !== undefined) return ask();
  // Killed after an overrun: a fresh process and a fresh load, as the first time.
  startAndLoad((msg) => {
    if (msg.type === 'loaded') return ask();
    const result = msg.type === 'load-threw' ? { ok: false, reason: 'threw', message: `loading failed: ${msg.error.text}` } : { ok: false, reason: msg.reason, message: msg.message };
    post({ type: 'result', result });
  });
}

parentPort.on('message', (m) => {
  if (m.type === 'load') startAndLoad(post);
  else if (m.type === 'decide') decide(m);
  else if (m.type === 'answer' && child !== undefined) frame({ type: 'answer', value: m.value });
  else if (m.type === 'close') {
    kill();
    parentPort.close();
  }
});
