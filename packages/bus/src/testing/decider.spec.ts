import { deciderSpec } from './decider';

// A toy decider: a page's tag storage, allocated once (the shape of tag-alloc-retry's pool, A.2.7).
type Command = { kind: 'allocate'; pa: bigint };
type Event = { type: 'Allocated'; pa: bigint } | { type: 'Refused'; pa: bigint };
const pool = deciderSpec<Command, ReadonlySet<bigint>, Event>({
  initialState: () => new Set(),
  decide: (c, s) => [s.has(c.pa) ? { type: 'Refused', pa: c.pa } : { type: 'Allocated', pa: c.pa }],
  evolve: (s, e) => (e.type === 'Allocated' ? new Set([...s, e.pa]) : s),
});

describe('the decider flavour of the kit', () => {
  it('given events → when command → then events', () => {
    pool.given({ type: 'Allocated', pa: 0x8_0000_0000n }).when({ kind: 'allocate', pa: 0x8_0000_0000n }).then({ type: 'Refused', pa: 0x8_0000_0000n });
    pool.given().when({ kind: 'allocate', pa: 0x1000n }).then({ type: 'Allocated', pa: 0x1000n });
  });

  it('history as commands (after), a state built elsewhere (from), and a failing then that shows hex', () => {
    const g = pool.given().after({ kind: 'allocate', pa: 0x1000n }, { kind: 'allocate', pa: 0x1000n });
    expect([...g.state]).toEqual([0x1000n]);
    expect(pool.from(g.state).when({ kind: 'allocate', pa: 0x1000n }).event).toEqual({ type: 'Refused', pa: 0x1000n });
    expect(() => pool.given().when({ kind: 'allocate', pa: 0x1000n }).then({ type: 'Allocated', pa: 0x2000n })).toThrow(/0x2000n/);
  });
});
