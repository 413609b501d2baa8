/**
 * The two sides of a document's open sync conflicts, as documents: the current document, and the
 * document as the writes that lost wanted it. A document can have several open records (each a
 * sync that lost something); they are resolved together, the newest record's losing value of a
 * field first. No VS Code dependency.
 */
import type { Doc } from '../../engine';
import { jsonEqual, type ConflictKind, type ConflictRecord, type ConflictSide } from '../../sync/protocol';

/** Fields the database manages; a resolution never writes them. */
const SYSTEM = new Set(['_id', '_v', 'createdAt', 'updatedAt']);

/** What a conflict record is read as here. */
export type ConflictRecordLike = Pick<ConflictRecord, '_id' | 'docId' | 'kind' | 'fields' | 'serverTime'>;

/** One conflicting field of a document: the newest record's two sides of it. */
export interface ConflictField {
  field: string;
  record: ConflictRecordLike;
  winner: ConflictSide;
  loser: ConflictSide;
  /** The document is no longer as the winning side left it: it changed after the conflict. */
  changedSince: boolean;
}

/** The version a record was made at (`c_<v>`), or -1 for an id of another shape. */
function versionOf(record: ConflictRecordLike): number {
  const m = /^c_(\d+)$/.exec(record._id);
  return m ? Number(m[1]) : -1;
}

/** Records newest first: by the server's time, then by the version in their id. */
export function newestFirst<R extends ConflictRecordLike>(records: readonly R[]): R[] {
  return [...records].sort((a, b) => (b.serverTime - a.serverTime) || (versionOf(b) - versionOf(a)));
}

/** Does `current` still hold what `winner` left in `field`? */
function stillAsWon(current: Doc | null, field: string, winner: ConflictSide): boolean {
  if (winner.deleted) return current === null;
  if (current === null) return false;
  if (winner.unset) return !Object.hasOwn(current, field);
  return Object.hasOwn(current, field) && jsonEqual(current[field], winner.value);
}

/** Each field the records hold, once, with the sides of the newest record that has it. */
export function conflictFields(current: Doc | null, records: readonly ConflictRecordLike[]): ConflictField[] {
  const out = new Map<string, ConflictField>();
  for (const record of newestFirst(records)) {
    for (const [field, { winner, loser }] of Object.entries(record.fields)) {
      if (!out.has(field)) out.set(field, { field, record, winner, loser, changedSince: !stillAsWon(current, field, winner) });
    }
  }
  return [...out.values()];
}

/**
 * The document as the losing writes left it: `current` (or a new document when there is none)
 * with each conflicting field in `take` (all when omitted) set to its newest losing value,
 * removed when the loser removed it. Null when a taken loser deleted the document.
 */
export function lostValue(current: Doc | null, docId: string, fields: readonly ConflictField[], take?: ReadonlySet<string>): Record<string, unknown> | null {
  const out: Record<string, unknown> = current ? { ...current } : { _id: docId };
  for (const { field, loser } of fields) {
    if (take && !take.has(field)) continue;
    if (loser.deleted) return null;
    if (loser.unset) delete out[field];
    else if (loser.value !== undefined) out[field] = loser.value;
  }
  return out;
}

/**
 * How a set of records reads to a user: `field` while the document exists (keep it or take what
 * lost), `deleted` or `purged` when a delete won and the document is gone (keep it gone, or bring
 * it back with the edit's values).
 */
export type ConflictShape = 'field' | 'deleted' | 'purged';

export function conflictShape(current: Doc | null, records: readonly Pick<ConflictRecordLike, 'kind'>[]): ConflictShape {
  if (current !== null) return 'field';
  return records.some((r) => r.kind === 'update_of_purged') ? 'purged' : 'deleted';
}

/** The kinds of the records, each once, newest first. */
export function kindsOf(records: readonly ConflictRecordLike[]): ConflictKind[] {
  return [...new Set(newestFirst(records).map((r) => r.kind))];
}

/** A document without the fields the database manages: what a resolution writes. */
export function userFields(doc: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!SYSTEM.has(k)) out[k] = v;
  return out;
}
