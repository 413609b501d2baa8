import { strict as assert } from 'node:assert';
import { CollectionState } from '../../../src/engine/state/collection-state';
import { TextArena } from '../../../src/engine/state/text-arena';

const line = (i: number, pad = 1000): string => JSON.stringify({ _id: `d${i}`, n: i, text: 'x'.repeat(pad) });

describe('engine: the text arena (documents not read yet, outside the JS heap)', () => {
  it('gives back every line as written, ASCII or not, across many chunks', () => {
    const arena = new TextArena();
    const texts = Array.from({ length: 40_000 }, (_, i) => JSON.stringify({ _id: `é${i}`, s: i % 3 === 0 ? '日本語 \u2028 😀' : 'plain', pad: 'y'.repeat(i % 700) }));
    const handles = texts.map((t) => arena.append(t)!);
    texts.forEach((t, i) => assert.equal(arena.text(handles[i]), t));
    assert.ok(arena.bytes > 8 * 1024 * 1024, 'more than one chunk was used');
  });

  it('keeps a line longer than MAX_LINE out (the caller keeps it as a string)', () => {
    const arena = new TextArena();
    assert.equal(arena.append('"' + 'z'.repeat(TextArena.MAX_LINE) + '"'), null);
    assert.equal(arena.bytes, 0);
  });

  it('releases a chunk once every line in it is dead, and a view taken before still reads it', () => {
    const arena = new TextArena();
    const handles = Array.from({ length: 30_000 }, (_, i) => arena.append(line(i))!);
    const view = arena.view();
    const before = arena.bytes;
    for (const h of handles.slice(0, 15_000)) arena.free(h);
    assert.ok(arena.bytes < before - 5 * 1024 * 1024, `released chunks: ${before} → ${arena.bytes} bytes`);
    assert.throws(() => arena.text(handles[0]), /was freed/);
    assert.equal(view(handles[0]).toString('utf8'), line(0));
    assert.equal(arena.text(handles[29_999]), line(29_999));
  });
});

describe('engine: CollectionState with documents kept as text', () => {
  it('parses on first read, replaces and deletes; the snapshot taken before stays as it was', () => {
    const c = new CollectionState('c');
    for (let i = 0; i < 1000; i++) c.putText(`d${i}`, line(i, 10), false);
    const snap = c.snapshot();
    assert.equal(c.get('d5')!.n, 5);
    c.putText('d6', JSON.stringify({ _id: 'd6', n: 'six' }), false);
    c.delete('d7');
    assert.equal(c.get('d6')!.n, 'six');
    assert.equal(c.get('d7'), undefined);
    assert.equal(c.size, 999);
    const written = [...snap].map((s) => (Buffer.isBuffer(s) ? s.toString('utf8') : typeof s === 'string' ? s : JSON.stringify(s)));
    assert.deepEqual(written, Array.from({ length: 1000 }, (_, i) => line(i, 10)));
  });

  it('compacts when most of the arena is dead: the live documents keep their text', () => {
    const c = new CollectionState('c');
    const n = 45_000; // ~46 MB of text
    for (let i = 0; i < n; i++) c.putText(`d${i}`, line(i), false);
    // Read two in three, interleaved, so no chunk dies whole: only a compaction frees them.
    for (let i = 0; i < n; i++) if (i % 3 !== 0) assert.equal(c.get(`d${i}`)!.n, i);
    const arena = (c as unknown as { arena: TextArena }).arena;
    assert.ok(arena.bytes < 30 * 1024 * 1024, `after compaction the arena holds ${(arena.bytes / 1048576).toFixed(1)} MB`);
    for (let i = 0; i < n; i += 3) assert.equal(c.stored(`d${i}`), line(i));
    assert.equal([...c.values()].length, n);
  });
});
