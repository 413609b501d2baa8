/** Hybrid logical clock: format, order, send/receive rules, clamping. */
import assert from 'node:assert/strict';
import {
  clampHlc, compareHlc, formatHlc, HlcError, HybridLogicalClock, isHlc, maxHlc, parseHlc, withNode,
} from '../../src/sync/hlc';

describe('sync: hlc', () => {
  it('formats and parses "<16 digits>:<4 hex>:<node>"', () => {
    const s = formatHlc({ ms: 1761234567890, counter: 26, node: 'r_ab-1' });
    assert.equal(s, '0001761234567890:001a:r_ab-1');
    assert.deepEqual(parseHlc(s), { ms: 1761234567890, counter: 26, node: 'r_ab-1' });
    assert.ok(isHlc(s));
    for (const bad of ['', '1761234567890:0000:r', '0001761234567890:00:r', '0001761234567890:001A:r', '0001761234567890:0000:', '0001761234567890:0000:a:b', '9999999999999999:0000:r', 42]) {
      assert.equal(isHlc(bad), false, String(bad));
    }
    assert.throws(() => parseHlc('nope'), (e: unknown) => e instanceof HlcError && e.code === 'invalid_hlc');
    assert.throws(() => formatHlc({ ms: 1, counter: 0x10000, node: 'r' }), HlcError);
    assert.throws(() => formatHlc({ ms: 1, counter: 0, node: 'a b' }), HlcError);
  });

  it('orders by (ms, counter, node), and string order agrees', () => {
    const stamps = [
      formatHlc({ ms: 5, counter: 0, node: 'b' }),
      formatHlc({ ms: 4, counter: 9, node: 'z' }),
      formatHlc({ ms: 5, counter: 0, node: 'a' }),
      formatHlc({ ms: 5, counter: 1, node: 'a' }),
    ];
    const byCompare = [...stamps].sort(compareHlc);
    const byString = [...stamps].sort();
    assert.deepEqual(byCompare, byString);
    assert.deepEqual(byCompare.map((s) => parseHlc(s).node), ['z', 'a', 'b', 'a']);
    assert.equal(compareHlc(stamps[0], stamps[0]), 0);
    assert.equal(maxHlc(stamps[0], stamps[1]), stamps[0]);
    assert.equal(parseHlc(withNode(stamps[0], 'q')).node, 'q');
  });

  it('tick is strictly increasing even when the wall clock stands still or goes back', () => {
    let now = 1000;
    const c = new HybridLogicalClock('n1', { now: () => now });
    const a = c.tick();
    const b = c.tick();
    now = 500; // NTP step backwards
    const d = c.tick();
    assert.ok(a < b && b < d);
    assert.deepEqual(parseHlc(d), { ms: 1000, counter: 2, node: 'n1' });
    now = 2000;
    assert.deepEqual(parseHlc(c.tick()), { ms: 2000, counter: 0, node: 'n1' });
  });

  it('receive adopts a remote stamp ahead of it and stays ahead of both', () => {
    let now = 1000;
    const c = new HybridLogicalClock('me', { now: () => now });
    c.tick();
    const remote = formatHlc({ ms: 5000, counter: 7, node: 'other' });
    const r = c.receive(remote);
    assert.deepEqual(parseHlc(r), { ms: 5000, counter: 8, node: 'me' });
    assert.ok(c.tick() > remote);
    // equal l on all three: max(c, m.c) + 1
    now = 5000;
    const c2 = new HybridLogicalClock('me', { now: () => now, last: formatHlc({ ms: 5000, counter: 3, node: 'me' }) });
    assert.deepEqual(parseHlc(c2.receive(formatHlc({ ms: 5000, counter: 10, node: 'x' }))), { ms: 5000, counter: 11, node: 'me' });
    // physical time ahead of everything: counter restarts
    now = 9000;
    assert.deepEqual(parseHlc(c2.receive(formatHlc({ ms: 6000, counter: 1, node: 'x' }))), { ms: 9000, counter: 0, node: 'me' });
  });

  it('continues from a persisted high-water mark (never goes back across restarts)', () => {
    const c1 = new HybridLogicalClock('r', { now: () => 100 });
    c1.receive(formatHlc({ ms: 10_000, counter: 4, node: 'x' }));
    const hw = c1.last!;
    const c2 = new HybridLogicalClock('r', { now: () => 100, last: hw });
    assert.ok(c2.tick() > hw);
    assert.equal(new HybridLogicalClock('r').last, null);
  });

  it('carries a counter overflow into the milliseconds', () => {
    const c = new HybridLogicalClock('r', { now: () => 42, last: formatHlc({ ms: 42, counter: 0xffff, node: 'r' }) });
    assert.deepEqual(parseHlc(c.tick()), { ms: 43, counter: 0, node: 'r' });
  });

  it('clampHlc replaces a stamp too far ahead with the server clock under the same node', () => {
    const server = new HybridLogicalClock('_server', { now: () => 1_000_000 });
    const ahead = formatHlc({ ms: 1_000_000 + 3 * 3600_000, counter: 0, node: 'rA' });
    const r = clampHlc(ahead, server, 1_000_000, 60_000);
    assert.equal(r.clamped, true);
    assert.equal(parseHlc(r.hlc).node, 'rA');
    assert.ok(parseHlc(r.hlc).ms <= 1_000_000 + 1);
    const ok = formatHlc({ ms: 1_000_000 + 30_000, counter: 0, node: 'rB' });
    const r2 = clampHlc(ok, server, 1_000_000, 60_000);
    assert.deepEqual(r2, { hlc: ok, clamped: false });
    // the accepted stamp was received: the server clock is now past it
    assert.ok(server.tick() > ok);
  });
});
