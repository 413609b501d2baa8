/**
 * Runs one query of a query file against an open database, with the engine's own `find`,
 * `count`, `updateMany` and `deleteMany` (each write one atomic commit). No VS Code dependency:
 * the extension asks for confirmation between {@link countTouched} and {@link runQuery}.
 */
import type { Doc, WiseJSON } from '../../engine';
import { WiseJSONError } from '../../engine';
import type { FileQuery } from './query-file';

/** At most this many documents of a `find` without a smaller `limit` are shown. */
export const SHOWN_DOCUMENTS = 1000;

export type QueryOutcome =
  | { kind: 'find'; documents: Doc[]; /** All documents the query selects (more than shown when capped). */ total: number; ms: number }
  | { kind: 'count'; count: number; ms: number }
  | { kind: 'update'; matched: number; modified: number; ms: number }
  | { kind: 'delete'; deleted: number; ms: number };

export class QueryRunError extends WiseJSONError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** The collection a query names; refuses a missing one rather than creating it. */
async function collectionOf(db: WiseJSON, query: FileQuery) {
  const names = await db.getCollectionNames();
  if (!names.includes(query.collection)) {
    const known = names.filter((n) => !n.startsWith('_'));
    throw new QueryRunError('NO_COLLECTION', `The database has no collection "${query.collection}"${known.length > 0 ? `; its collections: ${known.join(', ')}` : ' (it has none yet)'}. Fix "collection" in the query.`);
  }
  return db.collection(query.collection);
}

/** How many documents an `update` or `delete` would touch now (for the confirmation). */
export async function countTouched(db: WiseJSON, query: FileQuery): Promise<number> {
  return (await collectionOf(db, query)).count(query.filter);
}

/** Runs `query`; a `find` returns at most {@link SHOWN_DOCUMENTS} documents and the total. */
export async function runQuery(db: WiseJSON, query: FileQuery): Promise<QueryOutcome> {
  const coll = await collectionOf(db, query);
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 10) / 10;
  switch (query.kind) {
    case 'find': {
      const skip = query.skip ?? 0;
      const wanted = query.limit ?? Infinity;
      const documents = await coll.find(query.filter, query.projection ?? null, { sort: query.sort, skip, limit: Math.min(wanted, SHOWN_DOCUMENTS) });
      const capped = documents.length === SHOWN_DOCUMENTS && wanted > SHOWN_DOCUMENTS;
      const total = capped ? Math.min(Math.max(0, (await coll.count(query.filter)) - skip), wanted) : documents.length;
      return { kind: 'find', documents, total, ms: ms() };
    }
    case 'count':
      return { kind: 'count', count: await coll.count(query.filter), ms: ms() };
    case 'update': {
      const r = await coll.updateMany(query.filter, query.with ?? {});
      return { kind: 'update', matched: r.matchedCount, modified: r.modifiedCount, ms: ms() };
    }
    case 'delete':
      return { kind: 'delete', deleted: (await coll.deleteMany(query.filter)).deletedCount, ms: ms() };
  }
}

/** A one-line summary: "12 documents in 3.1 ms", "first 1000 of 12345 documents in 40 ms", … */
export function describeOutcome(o: QueryOutcome): string {
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  switch (o.kind) {
    case 'find':
      return `${o.total > o.documents.length ? `first ${o.documents.length} of ${o.total} documents` : n(o.documents.length, 'document', 'documents')} in ${o.ms} ms`;
    case 'count':
      return `count ${o.count} in ${o.ms} ms`;
    case 'update':
      return `${n(o.modified, 'document', 'documents')} updated (${o.matched} matched) in ${o.ms} ms`;
    case 'delete':
      return `${n(o.deleted, 'document', 'documents')} deleted in ${o.ms} ms`;
  }
}
