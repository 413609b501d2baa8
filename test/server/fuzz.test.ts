/**
 * Property-based tests of the server's push and changes handling with hostile ids, collection
 * names, field names and values, over real HTTP. One replica writes a random sequence of puts,
 * patches and deletes (always based on the version it last saw, so there is no concurrency);
 * a model applies every op the server answered `applied` and ignores every op it `rejected`.
 * Properties: every op is either applied or rejected — rejected exactly when the protocol's own
 * content check says so (checkOpContent) — and a full pull, through the project's own page
 * check, gives exactly the model: what is accepted round-trips unchanged, what is refused
 * changes nothing.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkOpContent, DEFAULT_LIMITS, jsonEqual, JsonObject, Op } from '../../src/sync/protocol';
import { fuzzParams, hostileDoc, hostileKey, illFormedString, objectOf, PROTOTYPE_NAMES } from '../fuzz/hostile';
import { Replica, useServer } from './helpers';

type Draft =
  | { kind: 'put'; coll: string; id: string; doc: Record<string, unknown> }
  | { kind: 'patch'; coll: string; id: string; set: Record<string, unknown>; unset: string[] }
  | { kind: 'del'; coll: string; id: string };

/** A small pool, so that ops meet the same documents again. */
const ids = fc.oneof(
  { arbitrary: fc.constantFrom('a', 'b', '\ud83d\ude00', 'x'.repeat(512), ...PROTOTYPE_NAMES), weight: 6 },
  { arbitrary: fc.constantFrom('', 'x'.repeat(513)), weight: 1 },
  { arbitrary: illFormedString, weight: 1 },
);
const colls = fc.oneof(
  { arbitrary: fc.constantFrom('c', 'constructor', '__proto__', 'toString'), weight: 6 },
  { arbitrary: fc.constantFrom('_reserved', 'a/b', '..', ''), weight: 1 },
  { arbitrary: illFormedString, weight: 1 },
);

const draft: fc.Arbitrary<Draft> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('put' as const), coll: colls, id: ids, doc: hostileDoc }), weight: 3 },
  {
    // A field both set and unset is a malformed request (400), not a hostile op: never both.
    arbitrary: fc.record({ kind: fc.constant('patch' as const), coll: colls, id: ids, set: hostileDoc, unset: fc.uniqueArray(hostileKey, { maxLength: 3 }) })
      .map((p) => ({ ...p, unset: p.unset.filter((k) => !Object.prototype.hasOwnProperty.call(p.set, k)) })),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('del' as const), coll: colls, id: ids }), weight: 1 },
);

/** The model: per `coll\0id`, the last version the server answered and the live body (null: deleted). */
type Model = Map<string, { v: number; doc: Record<string, unknown> | null }>;

const copy = (o: Record<string, unknown>): Record<string, unknown> => objectOf(Object.keys(o).map((k) => [k, o[k]]));
/** What JSON makes of a value (-0 → 0, undefined members dropped). */
const viaJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

function apply(model: Model, op: Op, v: number): void {
  const key = `${op.coll}\u0000${op.id}`;
  const cur = model.get(key)?.doc ?? null;
  let doc: Record<string, unknown> | null;
  if (op.kind === 'del') doc = null;
  else if (op.kind === 'put') doc = objectOf([['_id', op.id], ...Object.keys(op.doc).filter((k) => k !== '_id').map((k): [string, unknown] => [k, op.doc[k]])]);
  else {
    doc = cur ? copy(cur) : objectOf([['_id', op.id]]);
    const set = op.set ?? {};
    for (const k of Object.keys(set)) Object.defineProperty(doc, k, { value: set[k], enumerable: true, writable: true, configurable: true });
    for (const k of op.unset ?? []) delete doc[k];
  }
  model.set(key, { v, doc });
}

describe('server: property-based push and pull with hostile input (fast-check)', function () {
  this.timeout(300_000);
  const t = useServer();

  it('every op is applied or rejected as checkOpContent says, and a full pull gives exactly what was applied', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(draft, { minLength: 1, maxLength: 12 }), async (drafts) => {
        const ds = `fuzz-${++run}`;
        const api = t.api();
        const r = new Replica('rFuzz');
        const model: Model = new Map();
        for (const d of drafts) {
          // Based on the version this replica last saw of the document: no concurrency, no conflicts.
          const base = model.get(`${d.coll}\u0000${d.id}`)?.v ?? 0;
          const op = d.kind === 'put' ? r.put(d.coll, d.id, d.doc as JsonObject, base)
            : d.kind === 'patch' ? r.patch(d.coll, d.id, d.set as JsonObject, base, d.unset.length > 0 ? d.unset : undefined)
            : r.del(d.coll, d.id, base);
          const expected = checkOpContent(viaJson(op) as Op, DEFAULT_LIMITS);
          const res = await api.push(ds, r.body([op]));
          const result = res.results[0];
          if (expected) {
            assert.equal(result.status, 'rejected', `expected ${expected.code} for ${JSON.stringify(op).slice(0, 300)}`);
            assert.equal(result.code, expected.code);
          } else {
            assert.equal(result.status, 'applied', `${result.code ?? ''} ${result.detail ?? ''} for ${JSON.stringify(op).slice(0, 300)}`);
            apply(model, viaJson(op) as Op, result.v!);
          }
        }
        const pulled = await api.pullAll(ds);
        const live = [...pulled.docs].filter(([, doc]) => doc !== null);
        const want = [...model].filter(([, e]) => e.doc !== null);
        assert.equal(live.length, want.length, 'as many live documents as the model');
        for (const [key, e] of want) {
          const [coll, id] = key.split('\u0000');
          const got = pulled.docs.get(`${coll}/${id}`);
          assert.ok(got, `${JSON.stringify(key)} is live on the server`);
          assert.ok(jsonEqual(got, e.doc), `${JSON.stringify(key)} round-trips: got ${JSON.stringify(got).slice(0, 300)}, want ${JSON.stringify(e.doc).slice(0, 300)}`);
          for (const k of Object.keys(e.doc!)) assert.ok(Object.prototype.hasOwnProperty.call(got, k), `field ${JSON.stringify(k)} is an own field`);
        }
      }),
      fuzzParams(),
    );
  });
});
