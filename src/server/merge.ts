/**
 * The server-side merge of protocol docsync/1 (invariant 5): pure functions from (current row,
 * op) to (new row, conflict record, result). No I/O; the store calls it inside a dataset's
 * serialized writer and commits everything it returns in one transaction.
 *
 * Rules, per top-level field `f` the op writes (a `put` writes every field of its doc and
 * removes every other field of the current doc; a `patch` writes `set` and `unset`):
 *  - the op is *causally after* the field when `op.base >= stamp[f].v` (it saw the current value),
 *    or when the current value is the same replica's own earlier write (lower seq: a replica
 *    always sees its own writes, even before they have a server version): it wins;
 *  - otherwise the two writes are *concurrent*: the higher `(hlc, replicaId)` wins (the stamp
 *    string ends with the replica id, so one string comparison decides);
 *  - a concurrent write that loses (either side: the stored value or the op's) and whose value
 *    differs becomes a conflict record, unless the field is a system field (`_id`, `createdAt`,
 *    `updatedAt`, `_v`), which merges by the same rule silently.
 * Deletes: a delete always wins over a concurrent update (no resurrection); the update's values
 * are kept in a conflict record (`delete_vs_update` when the delete arrives second,
 * `update_vs_delete` when the update arrives second). A write that saw the delete
 * (`base >= tombstone v`) re-creates the document. A write based on a version older than the
 * purge horizon whose document is gone is recorded as `update_of_purged`.
 */
import { createHash } from 'node:crypto';
import { setOwn } from '../engine/document';
import {
  checkOpContent, CONFLICTS_COLLECTION, ConflictKind, ConflictSide, Json, jsonEqual, Op, OpResult, SYSTEM_FIELDS,
} from '../sync/protocol';

/** The per-field stamp: who wrote the field's current value, when, at which version. */
export interface FieldStamp {
  /** Effective HLC of the write (after clamping). */
  h: string;
  /** Version that write got. */
  v: number;
  /** Origin replica. */
  o: string;
  /** Origin seq. */
  s: number;
}

/** One document's state on the server (a row of the dataset's docs collection). */
export interface DocRow {
  _id: string;
  coll: string;
  id: string;
  v: number;
  del: boolean;
  body: Record<string, Json> | null;
  fs: Record<string, FieldStamp> | null;
  hlc: string;
  origin: string;
  oseq: number;
  delAt: number | null;
  /**
   * The state is exactly what `origin`'s op `oseq` wrote: the op saw the previous version and
   * every field there is was written by it. A pull by `origin` leaves the body out (it has it).
   */
  sole?: true;
}

/** `row` with its `sole` mark set or cleared (a spread of the previous row must not carry it over). */
function marked(row: DocRow, sole: boolean): DocRow {
  if (sole) row.sole = true;
  else delete row.sole;
  return row;
}

/** Origin of rows the server writes itself (conflict records). */
export const SERVER_ORIGIN = '_server';

const SYSTEM = new Set(SYSTEM_FIELDS);

export function rowKey(coll: string, id: string): string {
  return createHash('sha256').update(coll).update('\u0000').update(id).digest('hex').slice(0, 32);
}

/** `o[k]` when `k` is an own property: a field named "constructor" never reads the prototype. */
function own<T>(o: Record<string, T> | null | undefined, k: string): T | undefined {
  return o && Object.hasOwn(o, k) ? o[k] : undefined;
}


export interface MergeContext {
  /** The pushing replica. */
  replicaId: string;
  /** Server time, ms (stored in tombstones and conflict records). */
  now: number;
  /** The dataset's purge horizon. */
  horizon: number;
  maxDocBytes: number;
  /** Allocates the next version of the dataset. */
  nextV(): number;
  /** A fresh server HLC stamp (for conflict records). */
  serverHlc(): string;
}

export interface MergeOutcome {
  result: OpResult;
  /** The document's new row, when it changed. */
  row?: DocRow;
  /** A new `_conflicts` row. */
  conflict?: DocRow;
}

interface Write {
  value?: Json;
  unset?: true;
}

/**
 * Applies `op` (stamped `hlc`, already clamped) to `cur` (undefined = no row).
 * `warnings` are attached to the result.
 */
export function mergeOp(cur: DocRow | undefined, op: Op, hlc: string, ctx: MergeContext, warnings: string[] = []): MergeOutcome {
  const base: OpResult = { seq: op.seq, status: 'applied' };
  if (warnings.length > 0) base.warnings = warnings;
  const rejection = checkOpContent(op, ctx);
  if (rejection) return { result: { ...base, status: 'rejected', code: rejection.code, detail: rejection.detail } };

  const me = { hlc, origin: ctx.replicaId, seq: op.seq };
  /** Did the writer see the write stamped `st`? */
  const saw = (st: { v: number; o: string; s: number }): boolean => op.base >= st.v || (st.o === ctx.replicaId && st.s < op.seq);

  if (op.kind === 'del') {
    if (!cur || cur.del) return { result: cur ? { ...base, v: cur.v } : base };
    const lost: Record<string, { winner: ConflictSide; loser: ConflictSide }> = {};
    if (op.base < cur.v) {
      for (const [f, st] of Object.entries(cur.fs ?? {})) {
        if (!saw(st) && !SYSTEM.has(f)) setOwn(lost, f, { winner: { deleted: true, ...me }, loser: currentSide(cur, f) });
      }
    }
    const v = ctx.nextV();
    const row = marked({ ...cur, v, del: true, body: null, fs: null, hlc: maxStamp(cur.hlc, hlc), origin: ctx.replicaId, oseq: op.seq, delAt: ctx.now }, false);
    const out: MergeOutcome = { result: { ...base, v }, row };
    if (Object.keys(lost).length > 0) attachConflict(out, makeConflict(op, 'delete_vs_update', lost, ctx));
    return out;
  }

  const writes = collectWrites(op, cur);

  if (!cur || cur.del) {
    const sawIt = cur ? saw({ v: cur.v, o: cur.origin, s: cur.oseq }) : op.base === 0 || op.base >= ctx.horizon;
    if (!sawIt) {
      // Delete wins over a concurrent update; the update's values are kept.
      const winner: ConflictSide = cur ? { deleted: true, hlc: cur.hlc, origin: cur.origin, seq: cur.oseq } : { deleted: true };
      const lost: Record<string, { winner: ConflictSide; loser: ConflictSide }> = {};
      for (const [f, w] of writes) if (!SYSTEM.has(f)) setOwn(lost, f, { winner, loser: { ...w, ...me } });
      const conflict = makeConflict(op, cur ? 'update_vs_delete' : 'update_of_purged', lost, ctx);
      return { result: { ...base, status: 'conflict', v: conflict.v, conflictId: conflict.id }, conflict };
    }
    // Create, or re-create by a writer that saw the delete.
    const body: Record<string, Json> = { _id: op.id };
    for (const [f, w] of writes) if (w.unset === undefined) setOwn(body, f, w.value as Json);
    const tooBig = sizeProblem(body, ctx);
    if (tooBig) return { result: { ...base, status: 'rejected', ...tooBig } };
    const v = ctx.nextV();
    const fs: Record<string, FieldStamp> = {};
    for (const f of writes.keys()) setOwn(fs, f, { h: hlc, v, o: ctx.replicaId, s: op.seq });
    // Every field there is was written by this op, which saw what was there before: its own.
    const row: DocRow = {
      _id: rowKey(op.coll, op.id), coll: op.coll, id: op.id, v, del: false, body, fs,
      hlc: cur ? maxStamp(cur.hlc, hlc) : hlc, origin: ctx.replicaId, oseq: op.seq, delAt: null, sole: true,
    };
    return { result: { ...base, v, own: true }, row };
  }

  // Live document: field by field.
  const curBody = cur.body ?? {};
  const body: Record<string, Json> = { ...curBody };
  const won: string[] = [];
  const lost: Record<string, { winner: ConflictSide; loser: ConflictSide }> = {};
  let opLostSomething = false;
  for (const [f, w] of writes) {
    const st = own(cur.fs, f);
    const has = Object.hasOwn(curBody, f);
    const equal = w.unset ? !has : has && jsonEqual(curBody[f], w.value);
    const causal = !st || saw(st);
    const opWins = causal || hlc > st.h;
    if (opWins) {
      won.push(f);
      if (w.unset) delete body[f];
      else setOwn(body, f, w.value as Json);
      if (!causal && !equal && !SYSTEM.has(f)) setOwn(lost, f, { winner: { ...w, ...me }, loser: currentSide(cur, f) });
    } else if (!equal && !SYSTEM.has(f)) {
      opLostSomething = true;
      setOwn(lost, f, { winner: currentSide(cur, f), loser: { ...w, ...me } });
    }
  }
  const hasConflict = Object.keys(lost).length > 0;
  if (won.length === 0) {
    if (!hasConflict) return { result: { ...base, v: cur.v } };
    const conflict = makeConflict(op, 'field', lost, ctx);
    return { result: { ...base, status: 'conflict', v: conflict.v, conflictId: conflict.id }, conflict };
  }
  body._id = op.id;
  const tooBig = sizeProblem(body, ctx);
  if (tooBig) return { result: { ...base, status: 'rejected', ...tooBig } };
  const v = ctx.nextV();
  const fs: Record<string, FieldStamp> = { ...(cur.fs ?? {}) };
  for (const f of won) setOwn(fs, f, { h: hlc, v, o: ctx.replicaId, s: op.seq });
  // Own: the op saw the previous version, and every field there is now is one it wrote.
  const sole = !opLostSomething && !hasConflict && saw({ v: cur.v, o: cur.origin, s: cur.oseq }) &&
    Object.keys(body).every((f) => f === '_id' || own(fs, f)?.v === v);
  const row = marked({ ...cur, v, body, fs, hlc: maxStamp(cur.hlc, hlc), origin: ctx.replicaId, oseq: op.seq }, sole);
  const out: MergeOutcome = { result: { ...base, status: opLostSomething ? 'merged' : 'applied', v, ...(sole ? { own: true as const } : {}) }, row };
  if (hasConflict) attachConflict(out, makeConflict(op, 'field', lost, ctx));
  return out;
}

/** The fields an op writes, in order, `_id` excluded. */
function collectWrites(op: Op, cur: DocRow | undefined): Map<string, Write> {
  const writes = new Map<string, Write>();
  if (op.kind === 'put') {
    for (const [f, value] of Object.entries(op.doc)) if (f !== '_id') writes.set(f, { value });
    if (cur && !cur.del && cur.body) {
      for (const f of Object.keys(cur.body)) if (f !== '_id' && !writes.has(f)) writes.set(f, { unset: true });
    }
  } else if (op.kind === 'patch') {
    for (const [f, value] of Object.entries(op.set ?? {})) if (f !== '_id') writes.set(f, { value });
    for (const f of op.unset ?? []) if (f !== '_id') writes.set(f, { unset: true });
  }
  return writes;
}

function currentSide(cur: DocRow, f: string): ConflictSide {
  const st = own(cur.fs, f);
  const body = cur.body ?? {};
  const side: ConflictSide = Object.hasOwn(body, f) ? { value: body[f] } : { unset: true };
  if (st) {
    side.hlc = st.h;
    side.origin = st.o;
    side.seq = st.s;
  }
  return side;
}

function maxStamp(a: string, b: string): string {
  return a >= b ? a : b;
}

function sizeProblem(body: Record<string, Json>, ctx: MergeContext): { code: string; detail: string } | null {
  const bytes = Buffer.byteLength(JSON.stringify(body), 'utf8');
  if (bytes <= ctx.maxDocBytes) return null;
  return { code: 'doc_too_large', detail: `The merged document would be ${bytes} bytes; the limit is ${ctx.maxDocBytes}.` };
}

function makeConflict(op: Op, kind: ConflictKind, fields: Record<string, { winner: ConflictSide; loser: ConflictSide }>, ctx: MergeContext): DocRow {
  const v = ctx.nextV();
  const id = `c_${v}`;
  const h = ctx.serverHlc();
  const body: Record<string, Json> = {
    _id: id, coll: op.coll, docId: op.id, kind, fields: fields as unknown as Json, serverTime: ctx.now,
  };
  const fs: Record<string, FieldStamp> = {};
  for (const f of Object.keys(body)) if (f !== '_id') fs[f] = { h, v, o: SERVER_ORIGIN, s: 0 };
  return {
    _id: rowKey(CONFLICTS_COLLECTION, id), coll: CONFLICTS_COLLECTION, id, v, del: false, body, fs,
    hlc: h, origin: SERVER_ORIGIN, oseq: 0, delAt: null,
  };
}

function attachConflict(out: MergeOutcome, conflict: DocRow): void {
  out.conflict = conflict;
  out.result.conflictId = conflict.id;
}
