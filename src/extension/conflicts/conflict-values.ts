/**
 * The two sides of a sync conflict record, as documents: the current document, and the document
 * as the side that lost wanted it (the current one with the losing values of the conflicting
 * fields). No VS Code dependency.
 */
import type { Doc } from '../../engine';
import type { ConflictRecord } from '../../sync/protocol';

/** Fields the database manages; a resolution never writes them. */
const SYSTEM = new Set(['_id', '_v', 'createdAt', 'updatedAt']);

/**
 * The document as the losing write left it: `current` with each conflicting field set to the
 * loser's value (removed when the loser removed it). Null when the loser deleted the document.
 */
export function lostValue(current: Doc | null, record: Pick<ConflictRecord, 'fields' | 'docId'>): Record<string, unknown> | null {
  const out: Record<string, unknown> = current ? { ...current } : { _id: record.docId };
  for (const [field, { loser }] of Object.entries(record.fields)) {
    if (loser.deleted) return null;
    if (loser.unset) delete out[field];
    else if (loser.value !== undefined) out[field] = loser.value;
  }
  return out;
}

/** A document without the fields the database manages: what a resolution writes. */
export function userFields(doc: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!SYSTEM.has(k)) out[k] = v;
  return out;
}
