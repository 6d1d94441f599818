'use strict';
// How one `decide` answer is classified. Plain CommonJS so that both the in-process host
// (src/host/policy-call.ts) and the sandbox child (child.cjs), which may read nothing outside
// this folder and the policy's, use the same code and so print the same messages.

/** Duck-typed: a plugin loaded by another realm (node:vm, Jest) throws Errors of that realm. */
function errorText(e) {
  try {
    const { name, message } = e ?? {};
    return typeof name === 'string' && typeof message === 'string' ? `${name}: ${message}` : String(e);
  } catch {
    return 'a value that cannot be printed';
  }
}

function describe(v) {
  try {
    return typeof v === 'bigint' ? `${v}n` : (JSON.stringify(v) ?? String(v));
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** Node's permission model refusing an API: `{ permission, resource }`, else undefined. */
function deniedBy(e) {
  try {
    if (e === null || typeof e !== 'object' || e.code !== 'ERR_ACCESS_DENIED') return undefined;
    return { permission: String(e.permission), resource: e.resource === undefined ? undefined : String(e.resource) };
  } catch {
    return undefined;
  }
}

/**
 * Calls `policy.decide(fault, ctx)` and classifies the answer: `{ ok: true, kind }` or
 * `{ ok: false, reason, message }`. `isKind` is the contract's test of a decision kind.
 */
function classify(policy, fault, ctx, isKind) {
  let d;
  try {
    d = policy.decide(fault, ctx);
    const kind = d !== null && typeof d === 'object' ? d.kind : undefined;
    if (isKind(kind)) return { ok: true, kind };
  } catch (e) {
    const denied = deniedBy(e);
    if (denied !== undefined) return { ok: false, reason: 'denied', message: `decide() was denied ${denied.permission}${denied.resource === undefined ? '' : ` (${denied.resource})`}` };
    return { ok: false, reason: 'threw', message: errorText(e) };
  }
  return { ok: false, reason: 'invalid-decision', message: `decide() returned ${describe(d)}` };
}

module.exports = { classify, errorText, describe, deniedBy };
