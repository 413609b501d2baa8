/** Server-side merge (invariant 5), over real HTTP, plus an order-independence property test. */
import assert from 'node:assert/strict';
import { mergeOp, DocRow, MergeContext } from '../../src/server/merge';
import { compareHlc, formatHlc, parseHlc } from '../../src/sync/hlc';
import { ConflictRecord, JsonObject, Op, parseConflictRecord, PatchOp } from '../../src/sync/protocol';
import { Api, conflictsOf, docOf, Replica, sleep, useServer } from './helpers';

const HOUR = 3600_000;

describe('server: merge', () => {
  const t = useServer();

  /** Creates `coll/id` from a third replica; returns its version. */
  async function seedDoc(api: Api, ds: string, doc: JsonObject, id = 'd'): Promise<number> {
    const c = new Replica(`rSeed${ds.replace(/\W/g, '')}`);
    const r = await api.push(ds, c.body([c.put('notes', id, doc)]));
    return r.results[0].v!;
  }

  it('different fields of one document from two replicas: both kept, no conflict', async () => {
    const api = t.api();
    const v1 = await seedDoc(api, 'ds', { title: 't0', body: 'b0', updatedAt: '2020-01-01' });
    const a = new Replica('rA');
    const b = new Replica('rB');
    const ra = await api.push('ds', a.body([a.patch('notes', 'd', { title: 'A', updatedAt: '2030-01-01T00:00:00.001Z' }, v1)]));
    const rb = await api.push('ds', b.body([b.patch('notes', 'd', { body: 'B', updatedAt: '2030-01-01T00:00:00.002Z' }, v1)]));
    assert.equal(ra.results[0].status, 'applied');
    assert.equal(rb.results[0].status, 'applied');
    assert.equal(rb.results[0].conflictId, undefined, 'updatedAt must not produce a conflict');
    const doc = await docOf(api, 'ds', 'notes', 'd');
    assert.equal(doc?.title, 'A');
    assert.equal(doc?.body, 'B');
    assert.equal(doc?.updatedAt, '2030-01-01T00:00:00.002Z');
    assert.deepEqual(await conflictsOf(api, 'ds'), []);
  });

  it('same field concurrently: the same winner in both push orders, and a conflict record', async () => {
    const api = t.api();
    const a = new Replica('rA');
    const b = new Replica('rB');
    const v1 = await seedDoc(api, 'one', { title: 't0' });
    const v2 = await seedDoc(api, 'two', { title: 't0' });
    assert.equal(v1, v2);
    const opA = a.patch('notes', 'd', { title: 'from A' }, v1);
    const opB = b.patch('notes', 'd', { title: 'from B' }, v1);
    const winner = compareHlc(opA.hlc, opB.hlc) > 0 ? 'from A' : 'from B';
    const loser = winner === 'from A' ? 'from B' : 'from A';
    // order A, B on dataset "one"; B, A on dataset "two"
    const a1 = await api.push('one', a.body([opA]));
    const b1 = await api.push('one', b.body([opB]));
    const b2 = await api.push('two', b.body([opB]));
    const a2 = await api.push('two', a.body([opA]));
    assert.equal((await docOf(api, 'one', 'notes', 'd'))?.title, winner);
    assert.equal((await docOf(api, 'two', 'notes', 'd'))?.title, winner);
    // the second arrival either overwrote (applied + conflictId) or lost entirely (conflict)
    const second = [b1.results[0], a2.results[0]];
    for (const r of second) {
      assert.ok(r.conflictId, 'the second arrival must record the conflict');
      assert.ok(r.status === 'applied' || r.status === 'conflict');
    }
    assert.equal(a1.results[0].status, 'applied');
    assert.equal(b2.results[0].status, 'applied');
    const c1 = (await conflictsOf(api, 'one')).map((c) => parseConflictRecord(c));
    const c2 = (await conflictsOf(api, 'two')).map((c) => parseConflictRecord(c));
    assert.equal(c1.length, 1);
    assert.equal(c2.length, 1);
    for (const c of [c1[0], c2[0]]) {
      assert.equal(c.kind, 'field');
      assert.equal(c.coll, 'notes');
      assert.equal(c.docId, 'd');
      assert.equal(c.fields.title.winner.value, winner);
      assert.equal(c.fields.title.loser.value, loser);
      assert.match(c._id, /^c_\d+$/);
    }
    // identical content whichever order: winner/loser with their stamps and origins
    assert.deepEqual(c1[0].fields, c2[0].fields);
  });

  it('a write whose base >= the field version wins, even with an older clock', async () => {
    const api = t.api();
    const v1 = await seedDoc(api, 'ds', { title: 't0' });
    const a = new Replica('rA');
    const slow = new Replica('rSlow', -10 * 60_000); // 10 minutes behind
    const ra = await api.push('ds', a.body([a.patch('notes', 'd', { title: 'A' }, v1)]));
    const v2 = ra.results[0].v!;
    const op = slow.patch('notes', 'd', { title: 'saw A, then edited' }, v2);
    assert.ok(op.hlc < (await api.changes('ds')).changes[0].hlc, 'the causal write has the lower stamp');
    const rs = await api.push('ds', slow.body([op]));
    assert.equal(rs.results[0].status, 'applied');
    assert.equal(rs.results[0].conflictId, undefined);
    assert.equal((await docOf(api, 'ds', 'notes', 'd'))?.title, 'saw A, then edited');
    assert.deepEqual(await conflictsOf(api, 'ds'), []);
  });

  it('a concurrent write with the lower stamp loses and is kept as a conflict (status conflict)', async () => {
    const api = t.api();
    const v1 = await seedDoc(api, 'ds', { title: 't0', n: 1 });
    const slow = new Replica('rSlow', -10 * 60_000);
    const fast = new Replica('rFast');
    const opSlow = slow.patch('notes', 'd', { title: 'slow' }, v1);
    await api.push('ds', fast.body([fast.patch('notes', 'd', { title: 'fast' }, v1)]));
    const r = await api.push('ds', slow.body([opSlow]));
    assert.equal(r.results[0].status, 'conflict');
    assert.equal((await docOf(api, 'ds', 'notes', 'd'))?.title, 'fast');
    const [c] = await conflictsOf(api, 'ds');
    assert.equal(c._id, r.results[0].conflictId);
    assert.equal(r.results[0].v, Number(String(c._id).slice(2)));
    // partly winning op: merged
    const opMixed = slow.patch('notes', 'd', { title: 'slow again', extra: 'new field' }, v1);
    const r2 = await api.push('ds', slow.body([opMixed]));
    assert.equal(r2.results[0].status, 'merged');
    const doc = await docOf(api, 'ds', 'notes', 'd');
    assert.equal(doc?.title, 'fast');
    assert.equal(doc?.extra, 'new field');
  });

  it('delete vs concurrent update, both orders: no resurrection, the update kept as a conflict', async () => {
    const api = t.api();
    const a = new Replica('rA');
    const b = new Replica('rB');
    const v = await seedDoc(api, 'one', { title: 't0' });
    await seedDoc(api, 'two', { title: 't0' });
    const del = a.del('notes', 'd', v);
    const upd = b.patch('notes', 'd', { title: 'B edit', tag: 'x' }, v);
    // one: delete first, then the update
    await api.push('one', a.body([del]));
    const u1 = await api.push('one', b.body([upd]));
    assert.equal(u1.results[0].status, 'conflict');
    // two: update first, then the delete
    await api.push('two', b.body([upd]));
    const d2 = await api.push('two', a.body([del]));
    assert.equal(d2.results[0].status, 'applied');
    assert.ok(d2.results[0].conflictId);
    for (const ds of ['one', 'two']) {
      assert.equal(await docOf(api, ds, 'notes', 'd'), null, `${ds}: the delete must win`);
      const [c] = (await conflictsOf(api, ds)).map((x) => parseConflictRecord(x));
      assert.ok(c.kind === 'update_vs_delete' || c.kind === 'delete_vs_update');
      assert.equal(c.fields.title.loser.value, 'B edit');
      assert.equal(c.fields.tag.loser.value, 'x');
      assert.equal(c.fields.title.winner.deleted, true);
      assert.equal(c.fields.title.loser.origin, 'rB');
    }
    // a stale replay by another replica does not resurrect it
    const c = new Replica('rC');
    const replay = await api.push('one', c.body([c.put('notes', 'd', { title: 'stale' }, v)]));
    assert.equal(replay.results[0].status, 'conflict');
    assert.equal(await docOf(api, 'one', 'notes', 'd'), null);
    // a client that saw the delete re-creates it
    const tomb = (await api.changes('one')).changes.find((ch) => ch.id === 'd')!;
    assert.equal(tomb.deleted, true);
    const re = await api.push('one', c.body([c.put('notes', 'd', { title: 'again' }, tomb.v)]));
    assert.equal(re.results[0].status, 'applied');
    assert.deepEqual(await docOf(api, 'one', 'notes', 'd'), { _id: 'd', title: 'again' });
  });

  it('a put replaces the document: fields it does not carry are removed (when it saw them)', async () => {
    const api = t.api();
    const v1 = await seedDoc(api, 'ds', { a: 1, b: 2 });
    const r = new Replica('rA');
    await api.push('ds', r.body([r.put('notes', 'd', { a: 10 }, v1)]));
    assert.deepEqual(await docOf(api, 'ds', 'notes', 'd'), { _id: 'd', a: 10 });
    const res = await api.push('ds', r.body([r.patch('notes', 'd', {}, v1 + 1, ['a'])]));
    assert.equal(res.results[0].status, 'applied');
    assert.deepEqual(await docOf(api, 'ds', 'notes', 'd'), { _id: 'd' });
  });

  it('resolving a conflict is two ordinary synced writes', async () => {
    const api = t.api();
    const v1 = await seedDoc(api, 'ds', { title: 't0' });
    const a = new Replica('rA');
    const b = new Replica('rB');
    const opA = a.patch('notes', 'd', { title: 'A' }, v1);
    await api.push('ds', b.body([b.patch('notes', 'd', { title: 'B' }, v1)]));
    await api.push('ds', a.body([opA]));
    const page = await api.changes('ds');
    const rec = page.changes.find((c) => c.coll === '_conflicts')!;
    const docV = page.changes.find((c) => c.id === 'd')!.v;
    const res = await api.push('ds', a.body([a.patch('notes', 'd', { title: 'A+B' }, docV), a.del('_conflicts', rec.id, rec.v)]));
    assert.deepEqual(res.results.map((r) => r.status), ['applied', 'applied']);
    assert.equal((await docOf(api, 'ds', 'notes', 'd'))?.title, 'A+B');
    assert.equal(await docOf(api, 'ds', '_conflicts', rec.id), null);
  });

  describe('clock skew ±3 h: no edit lost', () => {
    it('+3 h: stamps are clamped (clock_skew); a later causal or concurrent write still wins', async () => {
      const api = t.api();
      const ahead = new Replica('rAhead', 3 * HOUR);
      const b = new Replica('rB');
      const r1 = await api.push('ds', ahead.body([ahead.put('notes', 'd', { title: 'ahead', other: 1 })]));
      assert.deepEqual(r1.results[0].warnings, ['clock_skew']);
      let page = await api.changes('ds');
      const stored = parseHlc(page.changes[0].hlc);
      assert.ok(stored.ms < Date.now() + 60_000, 'the stored stamp was clamped to server time');
      assert.equal(stored.node, 'rAhead');
      // B saw it, then edits the same field: causal, wins
      b.observe(page);
      const r2 = await api.push('ds', b.body([b.patch('notes', 'd', { title: 'B after seeing' }, page.changes[0].v)]));
      assert.equal(r2.results[0].status, 'applied');
      assert.equal((await docOf(api, 'ds', 'notes', 'd'))?.title, 'B after seeing');
      // concurrent: the skewed replica writes `other` (base 0 = not seen), then B, later in real
      // time and without seeing it, writes `other` too: B's edit is the later one and wins
      const c = new Replica('rC');
      await api.push('ds2', ahead.body([ahead.put('notes', 'x', { other: 'ahead' })]));
      await sleep(5);
      const rc = await api.push('ds2', c.body([c.put('notes', 'x', { other: 'later, correct clock' })]));
      assert.equal(rc.results[0].status, 'applied');
      assert.equal((await docOf(api, 'ds2', 'notes', 'x'))?.other, 'later, correct clock');
      const [conf] = (await conflictsOf(api, 'ds2')).map((x) => parseConflictRecord(x));
      assert.equal(conf.fields.other.loser.value, 'ahead', 'the losing edit is kept, not lost');
      page = await api.changes('ds');
      assert.ok(page.changes.every((ch) => parseHlc(ch.hlc).ms < Date.now() + 60_000));
    });

    it('-3 h: a replica behind still wins when it edits after seeing the other write', async () => {
      const api = t.api();
      const behind = new Replica('rBehind', -3 * HOUR);
      const b = new Replica('rB');
      const rb = await api.push('ds', b.body([b.put('notes', 'd', { title: 'B first' })]));
      const page = await api.changes('ds');
      behind.observe(page); // the client's HLC receive rule
      const op = behind.patch('notes', 'd', { title: 'behind, after seeing B' }, rb.results[0].v!);
      const r = await api.push('ds', behind.body([op]));
      assert.equal(r.results[0].status, 'applied');
      assert.equal((await docOf(api, 'ds', 'notes', 'd'))?.title, 'behind, after seeing B');
      // even without the receive rule (a raw -3 h stamp), base decides
      const raw = new Replica('rRaw', -3 * HOUR);
      const v = (await api.changes('ds')).changes[0].v;
      const r2 = await api.push('ds', raw.body([raw.patch('notes', 'd', { title: 'raw behind' }, v)]));
      assert.equal(r2.results[0].status, 'applied');
      assert.equal((await docOf(api, 'ds', 'notes', 'd'))?.title, 'raw behind');
      assert.deepEqual(await conflictsOf(api, 'ds'), []);
    });
  });
});

describe('server: merge is order-independent for concurrent writes (property)', () => {
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }

  function run(ops: { op: Op; replica: string }[]): { body: unknown; conflicts: unknown[] } {
    let head = 1;
    const cur: DocRow = {
      _id: 'k', coll: 'notes', id: 'd', v: 1, del: false, body: { _id: 'd', a: 0, b: 0, c: 0 },
      fs: { a: { h: formatHlc({ ms: 1, counter: 0, node: 's' }), v: 1, o: 's', s: 1 }, b: { h: formatHlc({ ms: 1, counter: 0, node: 's' }), v: 1, o: 's', s: 2 }, c: { h: formatHlc({ ms: 1, counter: 0, node: 's' }), v: 1, o: 's', s: 3 } },
      hlc: formatHlc({ ms: 1, counter: 0, node: 's' }), origin: 's', oseq: 3, delAt: null,
    };
    let row = cur;
    const conflicts: unknown[] = [];
    for (const { op, replica } of ops) {
      const ctx: MergeContext = { replicaId: replica, now: 0, horizon: 0, maxDocBytes: 1e6, nextV: () => ++head, serverHlc: () => formatHlc({ ms: 2, counter: 0, node: '_server' }) };
      const out = mergeOp(row, op, op.hlc, ctx);
      if (out.row) row = out.row;
      if (out.conflict) conflicts.push((out.conflict.body as unknown as ConflictRecord).fields);
    }
    return { body: row.body, conflicts };
  }

  it('any arrival order of concurrent patches (base = 1) ends in the same document', () => {
    const random = rng(42);
    for (let round = 0; round < 100; round++) {
      // three replicas, each with ops in its own seq (and HLC) order
      const perReplica: { op: PatchOp; replica: string }[][] = [[], [], []];
      for (let i = 0; i < 8; i++) {
        const r = Math.floor(random() * 3);
        const replica = `r${r}`;
        const mine = perReplica[r];
        const set: JsonObject = {};
        for (const f of ['a', 'b', 'c']) if (random() < 0.5) set[f] = Math.floor(random() * 4);
        const unset = random() < 0.2 ? ['c'] : undefined;
        if (unset) delete set.c;
        const hlc = formatHlc({ ms: 10 + mine.length * 3 + Math.floor(random() * 3), counter: 0, node: replica });
        const op: PatchOp = { seq: mine.length + 1, hlc, coll: 'notes', id: 'd', kind: 'patch', base: 1, set };
        if (unset) op.unset = unset;
        mine.push({ op, replica });
      }
      // a random interleaving that keeps each replica's order (the server sees them in seq order)
      const interleave = (): { op: Op; replica: string }[] => {
        const queues = perReplica.map((q) => [...q]);
        const out: { op: Op; replica: string }[] = [];
        while (queues.some((q) => q.length > 0)) {
          const open = queues.filter((q) => q.length > 0);
          out.push(open[Math.floor(random() * open.length)].shift()!);
        }
        return out;
      };
      const first = run(interleave());
      for (let p = 0; p < 6; p++) assert.deepEqual(run(interleave()).body, first.body, `round ${round}`);
    }
  });
});
