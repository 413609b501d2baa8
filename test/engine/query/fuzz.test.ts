/**
 * Property-based tests of the engine's documents, queries and update operators with hostile
 * field names (Object.prototype members, "__proto__", unicode, operator-like names), ids
 * (unpaired surrogates, 512/513 characters) and values (huge and tiny numbers, deep nesting,
 * long strings), on a real database folder. Properties:
 *  - an insert either stores the document exactly (also after reopen) or throws a
 *    ValidationError and stores nothing;
 *  - equality, $exists, $in and $gt/$lt queries give the same answer with and without an index
 *    on the field, and $exists agrees with an own-property model;
 *  - $set, $unset and $inc on such fields do what a plain model says, or throw a
 *    ValidationError and change nothing.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ValidationError } from '../../../src/engine';
import { jsonEqual } from '../../../src/sync/protocol';
import { useTmpDb } from '../api/tmpdb';
import { fuzzParams, hostileDoc, hostileJson, hostileKey, hostileNumber, illFormedString, objectOf, PROTOTYPE_NAMES } from '../../fuzz/hostile';

/** Fields the engine gives a meaning (timestamps, TTL, sync version): not hostile, just special. */
const SPECIAL = new Set(['_id', 'createdAt', 'updatedAt', 'ttl', 'expireAt', '_v']);
const plainDoc = hostileDoc.map((d) => objectOf(Object.keys(d).filter((k) => !SPECIAL.has(k)).map((k): [string, unknown] => [k, d[k]])));
/** Top-level names an update operator can address as one field (no dots, no "$"). */
const fieldName = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.string({ minLength: 1, maxLength: 6 }))
  .filter((k) => !SPECIAL.has(k) && !k.includes('.') && !k.startsWith('$'));
const ids = fc.oneof(
  { arbitrary: fc.constantFrom('a', '\ud83d\ude00', 'x'.repeat(512), ...PROTOTYPE_NAMES), weight: 5 },
  { arbitrary: fc.constantFrom('', 'x'.repeat(513)), weight: 1 },
  { arbitrary: illFormedString, weight: 1 },
);

const own = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);
const viaJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
/** A stored document without the engine's timestamps. */
function body(doc: Record<string, unknown>): Record<string, unknown> {
  return objectOf(Object.keys(doc).filter((k) => k !== 'createdAt' && k !== 'updatedAt').map((k): [string, unknown] => [k, doc[k]]));
}

describe('engine: property-based documents, queries and updates with hostile input (fast-check)', function () {
  this.timeout(300_000);
  const t = useTmpDb();
  let run = 0;

  it('an insert stores the document exactly, also after reopen, or throws ValidationError and stores nothing', async () => {
    await fc.assert(
      fc.asyncProperty(ids, plainDoc, async (id, doc) => {
        const name = `f${++run}`;
        const c = await t.db.collection(name);
        let stored = true;
        try {
          await c.insert({ ...viaJson(doc) as object, _id: id });
        } catch (err) {
          assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
          stored = false;
        }
        if (!stored) {
          assert.equal(await c.count(), 0);
          return;
        }
        const want = objectOf([['_id', id] as [string, unknown], ...Object.entries(viaJson(doc) as object)]);
        const got = (await c.getById(id))!;
        assert.ok(jsonEqual(body(got), want), 'stored as given');
        assert.equal(Object.getPrototypeOf(got), Object.prototype);
        for (const k of Object.keys(want)) assert.ok(own(got, k), `own field ${JSON.stringify(k)}`);
        await t.reopen();
        assert.ok(jsonEqual(body((await (await t.db.collection(name)).getById(id))!), want), 'the same after reopen');
      }),
      fuzzParams(0.5),
    );
  });

  it('queries on hostile field names agree with and without an index, and $exists with own properties', async () => {
    const query = fc.oneof(
      fc.record({ k: fieldName, v: hostileJson }).map(({ k, v }) => ({ k, q: objectOf([[k, v]]) })),
      fc.record({ k: fieldName, b: fc.boolean() }).map(({ k, b }) => ({ k, q: objectOf([[k, { $exists: b }]]) })),
      fc.record({ k: fieldName, vs: fc.array(hostileJson, { maxLength: 3 }) }).map(({ k, vs }) => ({ k, q: objectOf([[k, { $in: vs }]]) })),
      fc.record({ k: fieldName, n: hostileNumber, op: fc.constantFrom('$gt', '$lt', '$gte', '$lte') }).map(({ k, n, op }) => ({ k, q: objectOf([[k, objectOf([[op, n]])]]) })),
    );
    // Documents that use the queried names often: each gets some of a few names.
    const docs = fc.array(fc.array(fc.tuple(fieldName, hostileJson), { maxLength: 4 }).map(objectOf), { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(docs, fc.array(query, { minLength: 1, maxLength: 5 }), async (ds, qs) => {
        const plain = await t.db.collection(`p${++run}`);
        const indexed = await t.db.collection(`i${run}`);
        const inserted: Record<string, unknown>[] = [];
        for (const [i, d] of ds.entries()) {
          const doc = objectOf([['_id', `d${i}`] as [string, unknown], ...Object.entries(viaJson(d) as object).filter(([k]) => !SPECIAL.has(k))]);
          try {
            await plain.insert(doc);
          } catch (err) {
            assert.ok(err instanceof ValidationError, String(err));
            continue;
          }
          await indexed.insert(doc);
          inserted.push(doc);
        }
        for (const { k, q } of qs) {
          await indexed.createIndex(k).catch((err: unknown) => assert.ok(err instanceof ValidationError, String(err)));
          let a: string[];
          try {
            a = (await plain.find(q)).map((d) => d._id).sort();
          } catch (err) {
            assert.ok(err instanceof ValidationError, `a query fails only with ValidationError: ${String(err)}`);
            await assert.rejects(indexed.find(q), ValidationError);
            continue;
          }
          const b = (await indexed.find(q)).map((d) => d._id).sort();
          assert.deepEqual(b, a, `index and scan agree on ${JSON.stringify(q).slice(0, 200)}`);
          assert.equal(await plain.count(q), a.length);
          const cond = q[k] as Record<string, unknown> | null;
          if (cond && typeof cond === 'object' && !Array.isArray(cond) && Object.keys(cond).length === 1 && own(cond, '$exists')) {
            const want = inserted.filter((d) => own(d, k) === cond.$exists).map((d) => d._id as string).sort();
            assert.deepEqual(a, want, `$exists follows own properties for ${JSON.stringify(k)}`);
          }
        }
      }),
      fuzzParams(0.5),
    );
  });

  it('$set, $unset and $inc on hostile field names do what a plain model says, or change nothing', async () => {
    const update = fc.oneof(
      fc.record({ op: fc.constant('$set' as const), k: fieldName, v: hostileJson }),
      fc.record({ op: fc.constant('$unset' as const), k: fieldName, v: fc.constant('') }),
      fc.record({ op: fc.constant('$inc' as const), k: fieldName, v: fc.integer({ min: -1000, max: 1000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(plainDoc, fc.array(update, { minLength: 1, maxLength: 6 }), async (doc, updates) => {
        const c = await t.db.collection(`u${++run}`);
        let model: Record<string, unknown>;
        try {
          model = body(await c.insert({ ...viaJson(doc) as object, _id: 'x' }));
        } catch (err) {
          assert.ok(err instanceof ValidationError, String(err));
          return;
        }
        for (const u of updates) {
          const before = body((await c.getById('x'))!);
          try {
            await c.update('x', objectOf([[u.op, objectOf([[u.k, viaJson(u.v)]])]]));
          } catch (err) {
            assert.ok(err instanceof ValidationError, `an update fails only with ValidationError: ${String(err)}`);
            assert.ok(jsonEqual(body((await c.getById('x'))!), before), 'a refused update changes nothing');
            continue;
          }
          const next = objectOf(Object.keys(model).map((k): [string, unknown] => [k, model[k]]));
          if (u.op === '$set') Object.defineProperty(next, u.k, { value: viaJson(u.v), enumerable: true, writable: true, configurable: true });
          else if (u.op === '$unset') delete next[u.k];
          else Object.defineProperty(next, u.k, { value: (own(model, u.k) ? (model[u.k] as number) : 0) + (u.v as number), enumerable: true, writable: true, configurable: true });
          model = next;
          const got = body((await c.getById('x'))!);
          assert.ok(jsonEqual(got, model), `${u.op} ${JSON.stringify(u.k)}: got ${JSON.stringify(got).slice(0, 200)}, want ${JSON.stringify(model).slice(0, 200)}`);
        }
        await t.reopen();
        assert.ok(jsonEqual(body((await (await t.db.collection(`u${run}`)).getById('x'))!), model), 'the same after reopen');
      }),
      fuzzParams(0.5),
    );
  });
});
