import { type RawMapping, type RawValue, isMapping } from './raw';
import { type FieldReader, child, get, has, item } from './fields';
import { resolveCap } from '@mteperm/uapi';
import { describeValue } from './describe';
import { readHost } from './cpus';
import type { BackingKind, CapRef, GuestStage2Entry, ScenarioBacking, ScenarioStep, ScenarioStepOp } from './types';
import {
  ACCESS_OPS,
  BACKING_KINDS,
  BACKING_MTE_ALLOWED,
  ID_REGISTERS,
  MEMSLOT_FLAGS,
  S1_ATTRS,
  STAGE2_APS,
  STAGE2_ATTRS,
  STEP_OPS,
  TCF_MODES,
} from './vocabulary';

const U32_MAX = 0xffff_ffff;
const SIZES = { sizes: true } as const;
const CAP_NAME = /^KVM_CAP_[A-Z0-9_]+$/;

type StepReader = (r: FieldReader, v: RawValue, path: string, index: number) => ScenarioStep;

/** A step is a mapping with exactly one key, the op; its value holds the op's fields. */
export function readStep(r: FieldReader, v: RawValue, path: string, index: number): ScenarioStep {
  if (!isMapping(v)) {
    const example = '(e.g. { create_vm: { ipa_bits: 40 } })';
    r.fail(path, `expected a mapping with one key naming the step ${example}, got ${describeValue(v)}`);
  }
  const keys = Object.keys(v);
  if (keys.length !== 1) {
    r.fail(
      path,
      keys.length === 0
        ? 'empty step: expected one key naming the step'
        : `a step has exactly one key (the op); found ${keys.join(', ')}`,
    );
  }
  const op = keys[0]!;
  if (!(STEP_OPS as readonly string[]).includes(op)) r.unknown(path, 'step', op, STEP_OPS);
  return Object.freeze(READERS[op as ScenarioStepOp](r, v[op]!, child(path, op), index));
}

// CONTRACT §1.3 spells a capability either as the whole step value or as `cap:` inside a mapping.
function readCap(r: FieldReader, v: RawValue, path: string): CapRef {
  if (typeof v === 'bigint') return r.int(v, path, 0, U32_MAX);
  if (typeof v === 'string') {
    if (!CAP_NAME.test(v)) r.fail(path, `${describeValue(v)} is not a capability name (KVM_CAP_...) or number`);
    // A name the model does not know is the file's error, named here, not a failure mid-run.
    try {
      resolveCap(v);
    } catch (e) {
      r.fail(path, (e as Error).message);
    }
    return v;
  }
  return r.fail(path, `expected a capability name (KVM_CAP_...) or number, got ${describeValue(v)}`);
}

function readMemslotFlags(r: FieldReader, v: RawValue, path: string): number {
  if (!Array.isArray(v)) {
    if (typeof v === 'bigint' || typeof v === 'number') return r.int(v, path, 0, U32_MAX);
    r.fail(path, `expected an integer or a list of ${Object.keys(MEMSLOT_FLAGS).join(', ')}; got ${describeValue(v)}`);
  }
  let flags = 0;
  v.forEach((name, i) => {
    flags |= MEMSLOT_FLAGS[r.oneOf(name, item(path, i), Object.keys(MEMSLOT_FLAGS), 'memslot flag')]!;
  });
  return flags;
}

function readBacking(r: FieldReader, v: RawValue, path: string): ScenarioBacking {
  if (typeof v === 'string') {
    const kind = r.oneOf(v, path, BACKING_KINDS, 'backing');
    return Object.freeze({ kind, mte_allowed: BACKING_MTE_ALLOWED[kind] });
  }
  if (!isMapping(v)) r.fail(path, `expected one of ${BACKING_KINDS.join(', ')} or { kind, mte_allowed }; got ${describeValue(v)}`);
  const m = r.mapping(v, path, ['kind', 'mte_allowed'], ['kind']);
  const kind: BackingKind = r.oneOf(m.kind!, child(path, 'kind'), BACKING_KINDS, 'backing');
  const mteAllowed = get(m, 'mte_allowed');
  return Object.freeze({
    kind,
    mte_allowed: mteAllowed === undefined ? BACKING_MTE_ALLOWED[kind] : r.bool(mteAllowed, child(path, 'mte_allowed')),
  });
}

function readMapEntry(r: FieldReader, v: RawValue, path: string): GuestStage2Entry {
  const keys = ['ipa', 'pa', 'size', 'attr', 'ap'];
  const m = r.mapping(v, path, keys, keys);
  return Object.freeze({
    ipa: r.u64(m.ipa!, child(path, 'ipa'), SIZES),
    pa: r.u64(m.pa!, child(path, 'pa'), SIZES),
    size: r.u64(m.size!, child(path, 'size'), SIZES),
    attr: r.oneOf(m.attr!, child(path, 'attr'), STAGE2_ATTRS, 'attr'),
    ap: r.oneOf(m.ap!, child(path, 'ap'), STAGE2_APS, 'ap'),
  });
}

/** Reads an optional field with `read`, or returns `fallback` when the key is absent (never when wrong). */
function opt<T>(m: RawMapping, key: string, path: string, fallback: T, read: (v: RawValue, p: string) => T): T {
  return has(m, key) ? read(m[key]!, child(path, key)) : fallback;
}

const READERS: Record<ScenarioStepOp, StepReader> = {
  create_vm(r, v, path, index) {
    // `- create_vm:` with nothing after it (null) means "all defaults", like `{}`.
    const m = r.mapping(v === null ? {} : v, path, ['ipa_bits']);
    return { op: 'create_vm', index, ipa_bits: opt(m, 'ipa_bits', path, 0, (x, p) => r.int(x, p, 0, 64)) };
  },

  check_extension(r, v, path, index) {
    if (isMapping(v)) {
      const m = r.mapping(v, path, ['cap'], ['cap']);
      return { op: 'check_extension', index, cap: readCap(r, m.cap!, child(path, 'cap')) };
    }
    return { op: 'check_extension', index, cap: readCap(r, v, path) };
  },

  enable_cap(r, v, path, index) {
    if (!isMapping(v)) {
      return { op: 'enable_cap', index, cap: readCap(r, v, path), args: Object.freeze([0n, 0n, 0n, 0n] as const), flags: 0 };
    }
    const m = r.mapping(v, path, ['cap', 'args', 'flags'], ['cap']);
    const args: [bigint, bigint, bigint, bigint] = [0n, 0n, 0n, 0n];
    if (has(m, 'args')) {
      const apath = child(path, 'args');
      const list = r.list(m.args!, apath);
      if (list.length > 4) r.fail(apath, `struct kvm_enable_cap has 4 args; got ${list.length}`);
      list.forEach((a, i) => (args[i] = r.u64(a, item(apath, i), { sizes: false })));
    }
    return {
      op: 'enable_cap',
      index,
      cap: readCap(r, m.cap!, child(path, 'cap')),
      args: Object.freeze(args),
      flags: opt(m, 'flags', path, 0, (x, p) => r.int(x, p, 0, U32_MAX)),
    };
  },

  set_user_memory_region(r, v, path, index) {
    const required = ['slot', 'guest_phys_addr', 'memory_size', 'backing'];
    const m = r.mapping(v, path, [...required, 'flags'], required);
    return {
      op: 'set_user_memory_region',
      index,
      slot: r.int(m.slot!, child(path, 'slot'), 0, U32_MAX),
      guest_phys_addr: r.u64(m.guest_phys_addr!, child(path, 'guest_phys_addr'), SIZES),
      memory_size: r.u64(m.memory_size!, child(path, 'memory_size'), SIZES),
      backing: readBacking(r, m.backing!, child(path, 'backing')),
      flags: opt(m, 'flags', path, 0, (x, p) => readMemslotFlags(r, x, p)),
    };
  },

  create_vcpu(r, v, path, index) {
    const m = r.mapping(v, path, ['id', 'el2'], ['id']);
    return {
      op: 'create_vcpu',
      index,
      id: r.int(m.id!, child(path, 'id'), 0, U32_MAX),
      el2: opt(m, 'el2', path, false, (x, p) => r.bool(x, p)),
    };
  },

  access(r, v, path, index) {
    const m = r.mapping(v, path, ['vcpu', 'gpa', 'op', 'level', 'tcf', 's1', 'size', 'pair', 'reg', 'ata', 'tco'], ['vcpu', 'gpa', 'op']);
    // DOMAIN A.3.3: an A64 load/store moves 1, 2, 4 or 8 bytes per register; LDP/STP only W or X.
    const size = opt<1 | 2 | 4 | 8>(m, 'size', path, 8, (x, p) => {
      const n = r.int(x, p, 1, 8);
      if (n !== 1 && n !== 2 && n !== 4 && n !== 8) r.fail(p, `expected 1, 2, 4 or 8 (bytes), got ${n}`);
      return n as 1 | 2 | 4 | 8;
    });
    const pair = opt(m, 'pair', path, false, (x, p) => {
      const b = r.bool(x, p);
      if (b && size < 4) r.fail(p, `a pair (LDP/STP) needs size 4 or 8, got size ${size}`);
      return b;
    });
    return {
      op: 'access',
      index,
      vcpu: r.int(m.vcpu!, child(path, 'vcpu'), 0, U32_MAX),
      gpa: r.u64(m.gpa!, child(path, 'gpa'), SIZES),
      access: r.oneOf(m.op!, child(path, 'op'), ACCESS_OPS, 'access op'),
      level: opt(m, 'level', path, 1, (x, p) => r.int(x, p, 1, 2) as 1 | 2),
      tcf: opt(m, 'tcf', path, 'sync', (x, p) => r.oneOf(x, p, TCF_MODES, 'tcf mode')),
      s1: opt(m, 's1', path, 'tagged', (x, p) => r.oneOf(x, p, S1_ATTRS, 's1 attribute')),
      size,
      pair,
      reg: opt(m, 'reg', path, 0, (x, p) => r.int(x, p, 0, 30)),
      ata: opt(m, 'ata', path, true, (x, p) => r.bool(x, p)),
      tco: opt(m, 'tco', path, false, (x, p) => r.bool(x, p)),
    };
  },

  get_one_reg(r, v, path, index) {
    const m = r.mapping(v, path, ['vcpu', 'reg'], ['vcpu', 'reg']);
    return {
      op: 'get_one_reg',
      index,
      vcpu: r.int(m.vcpu!, child(path, 'vcpu'), 0, U32_MAX),
      reg: r.oneOf(m.reg!, child(path, 'reg'), ID_REGISTERS, 'register'),
    };
  },

  guest_stage2(r, v, path, index) {
    const m = r.mapping(v, path, ['vcpu', 'map'], ['vcpu', 'map']);
    const mpath = child(path, 'map');
    return {
      op: 'guest_stage2',
      index,
      vcpu: r.int(m.vcpu!, child(path, 'vcpu'), 0, U32_MAX),
      map: Object.freeze(r.list(m.map!, mpath).map((e, i) => readMapEntry(r, e, item(mpath, i)))),
    };
  },

  migrate(r, v, path, index) {
    const m = r.mapping(v, path, ['to'], ['to']);
    return { op: 'migrate', index, to: readHost(r, m.to!, child(path, 'to')) };
  },

  mte_copy_tags(r, v, path, index) {
    const m = r.mapping(v, path, ['gpa', 'length', 'to_guest'], ['gpa', 'length']);
    return {
      op: 'mte_copy_tags',
      index,
      gpa: r.u64(m.gpa!, child(path, 'gpa'), SIZES),
      length: r.u64(m.length!, child(path, 'length'), SIZES),
      to_guest: opt(m, 'to_guest', path, false, (x, p) => r.bool(x, p)),
    };
  },
};
