import { toArray } from 'rxjs';
import { decodeEnvelope, NO_VCPU } from '@mteperm/events';
import type { Envelope } from '@mteperm/events';
import { SAMPLE_EVENTS } from '@mteperm/events/testing';
import { EventBus } from './event-bus';

describe('EventBus', () => {
  it('gives every event a dense seq from 1 and the publish context', () => {
    const bus = new EventBus();
    const a = bus.publish(SAMPLE_EVENTS.VmCreated, { vm: 1 });
    const b = bus.publish(SAMPLE_EVENTS.VcpuCreated, { vm: 1, vcpu: 0, causation: a.seq });
    expect([a.seq, b.seq, bus.seq]).toEqual([1n, 2n, 2n]);
    expect([a.vm, a.vcpu, a.causation]).toEqual([1, NO_VCPU, 0n]);
    expect([b.vm, b.vcpu, b.causation]).toEqual([1, 0, 1n]);
  });

  it('hands the sink the encoded bytes once per event, in seq order, before delivery', () => {
    const seen: string[] = [];
    const bus = new EventBus({ sink: (bytes, env) => seen.push(`sink ${env.seq} ${decodeEnvelope(bytes).type}`) });
    bus.subscribe('t', 'VmCreated', (e) => seen.push(`handler ${e.seq}`));
    bus.publish(SAMPLE_EVENTS.VmCreated);
    bus.publish(SAMPLE_EVENTS.MemoryFaultExit);
    expect(seen).toEqual(['sink 1 VmCreated', 'handler 1', 'sink 2 MemoryFaultExit']);
  });

  it('delivers decoded, frozen envelopes with 64-bit fields as bigint', () => {
    const bus = new EventBus();
    let got: Envelope | undefined;
    bus.subscribe('t', 'MemoryFaultExit', (e) => {
      got = e;
      expect(e.data.flags).toBe(0x10n);
      expect(e.data.gpa).toBe(0x10000000n);
    });
    bus.publish(SAMPLE_EVENTS.MemoryFaultExit);
    expect(got).toBeDefined();
    expect(Object.isFrozen(got)).toBe(true);
    expect(Object.isFrozen(got!.data)).toBe(true);
  });

  it('delivers events first-in first-out: a consequence waits until its cause reached everyone', () => {
    const bus = new EventBus();
    const order: string[] = [];
    bus.subscribe('mmu', 'Stage2FaultTaken', (e) => {
      order.push(`mmu sees fault ${e.seq}`);
      bus.publish(SAMPLE_EVENTS.Stage2MapRequested, { causation: e.seq });
      order.push('mmu publish returned');
    });
    bus.subscribe('report', 'Stage2FaultTaken', (e) => order.push(`report sees fault ${e.seq}`));
    bus.subscribe('pgtable', 'Stage2MapRequested', (e) => order.push(`pgtable sees map ${e.seq} caused by ${e.causation}`));
    bus.publish(SAMPLE_EVENTS.Stage2FaultTaken);
    order.push('outer publish returned');
    expect(order).toEqual([
      'mmu sees fault 1',
      'mmu publish returned',
      'report sees fault 1',
      'pgtable sees map 2 caused by 1',
      'outer publish returned',
    ]);
  });

  it('contains a throwing subscriber: SubscriberFailed is published and the others still run', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe('broken', 'VmCreated', () => {
      throw new RangeError('boom');
    });
    bus.subscribe('fine', 'VmCreated', (e) => seen.push(`fine ${e.seq}`));
    bus.subscribe('watch', 'SubscriberFailed', (e) => seen.push(`${e.data.subscriber} failed on ${e.data.event_kind} #${e.data.event_seq}: ${e.data.message} (caused by ${e.causation})`));
    bus.publish(SAMPLE_EVENTS.VmCreated);
    expect(seen).toEqual(['fine 1', 'broken failed on VmCreated #1: RangeError: boom (caused by 1)']);
    expect(bus.seq).toBe(2n);
  });

  it('does not loop when a SubscriberFailed handler throws', () => {
    const bus = new EventBus();
    bus.subscribe('a', 'VmCreated', () => {
      throw new Error('a');
    });
    bus.subscribe('b', 'SubscriberFailed', () => {
      throw new Error('b');
    });
    bus.publish(SAMPLE_EVENTS.VmCreated);
    expect(bus.seq).toBe(2n);
  });

  it('streams one event type through on(), and everything through all(), in seq order', () => {
    const bus = new EventBus();
    const maps: bigint[] = [];
    const all: string[] = [];
    bus.on('Stage2Mapped').subscribe((e) => maps.push(e.data.desc));
    let collected: string[] = [];
    bus
      .all()
      .pipe(toArray())
      .subscribe((xs) => (collected = xs.map((x) => `${x.seq}:${x.type}`)));
    bus.all().subscribe((e) => all.push(e.type));
    bus.publish(SAMPLE_EVENTS.Stage2MapRequested);
    bus.publish(SAMPLE_EVENTS.Stage2Mapped);
    bus.complete();
    expect(maps).toEqual([SAMPLE_EVENTS.Stage2Mapped.data.desc]);
    expect(all).toEqual(['Stage2MapRequested', 'Stage2Mapped']);
    expect(collected).toEqual(['1:Stage2MapRequested', '2:Stage2Mapped']);
  });

  it('stops delivering to an unsubscribed handler', () => {
    const bus = new EventBus();
    let n = 0;
    const off = bus.subscribe('t', 'VmCreated', () => n++);
    bus.publish(SAMPLE_EVENTS.VmCreated);
    off();
    bus.publish(SAMPLE_EVENTS.VmCreated);
    expect(n).toBe(1);
  });

  it('continues the seq of an existing log', () => {
    const bus = new EventBus({ lastSeq: 41n });
    expect(bus.publish(SAMPLE_EVENTS.VmCreated).seq).toBe(42n);
  });

  it('refuses an event that does not fit the schema without consuming a seq', () => {
    const bus = new EventBus();
    expect(() => bus.publish({ type: 'VmCreated', data: { ipa_bits: 40n, ret: 0 } } as never)).toThrow('VmCreated.ipa_bits: expected integer');
    expect(bus.publish(SAMPLE_EVENTS.VmCreated).seq).toBe(1n);
  });
});
