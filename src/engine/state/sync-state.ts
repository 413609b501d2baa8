import { Doc, setOwn } from '../document';

/**
 * One local change waiting to be pushed to the sync server: the wire op of protocol docsync/1
 * (`{seq, hlc, coll, id, kind, base, doc | set/unset}`). It is written in the same log record as
 * the change itself, so it is exactly as durable, and it leaves the outbox only when the server
 * has acknowledged its `seq` — checkpoints carry it over, never drop it.
 */
export interface OutboxOp {
  seq: number;
  hlc: string;
  coll: string;
  id: string;
  kind: 'put' | 'patch' | 'del';
  /** The server version the change was based on (0 = never synced). */
  base: number;
  doc?: Record<string, unknown>;
  set?: Record<string, unknown>;
  unset?: string[];
}

/** A collection's sync settings that must survive restarts (never the URL's key). */
export interface CollectionSync {
  dataset: string;
  /** The pull cursor `"<epoch>:<v>"`, advanced only by applied pull pages; null = from the start. */
  cursor: string | null;
  /**
   * The server's proof that it issued `cursor` (`checkpointProof` of the page that brought it);
   * absent for cursors of older servers or made here. Sent back with the cursor, it lets a server
   * restored from a backup tell a real cursor ahead of it from a forged one.
   */
  proof?: string;
}

/** Sets a collection's cursor and the proof that came with it (none: no proof kept). */
export function setCursorOf(cfg: CollectionSync, cursor: string | null, proof: string | undefined): void {
  cfg.cursor = cursor;
  if (proof !== undefined && cursor !== null) cfg.proof = proof;
  else delete cfg.proof;
}

/** System fields: merged by the server, never sent as user changes. */
const LOCAL_ONLY = new Set(['_v']);

/** The database's sync bookkeeping, held in memory and persisted through the log and checkpoints. */
export class SyncState {
  /** The last `seq` given to a local change (never reused, also after a crash). */
  seq = 0;
  /** The hybrid logical clock's high-water mark. */
  hlc = '';
  /** Pending changes, in `seq` order. */
  readonly outbox: OutboxOp[] = [];
  /** Collections with sync enabled. */
  readonly collections = new Map<string, CollectionSync>();
  /**
   * The server version at which a synced document was deleted (`coll\u0000id` → v), so that
   * creating it again is based on that version: the server then sees a write that saw the delete,
   * not one concurrent with it.
   */
  readonly deleted = new Map<string, number>();

  pending(coll?: string): OutboxOp[] {
    return coll === undefined ? [...this.outbox] : this.outbox.filter((o) => o.coll === coll);
  }

  /** Removes acknowledged ops of `colls` with `seq <= upTo`; returns them (in order). */
  ack(upTo: number, colls: readonly string[] | null): OutboxOp[] {
    const removed: OutboxOp[] = [];
    const kept: OutboxOp[] = [];
    for (const op of this.outbox) {
      if (op.seq <= upTo && (colls === null || colls.includes(op.coll))) removed.push(op);
      else kept.push(op);
    }
    if (removed.length > 0) {
      this.outbox.length = 0;
      for (const op of kept) this.outbox.push(op);
    }
    return removed;
  }

  /** Puts ops back (undo of an ack), keeping `seq` order. */
  restore(ops: readonly OutboxOp[]): void {
    for (const op of ops) this.outbox.push(op);
    this.outbox.sort((a, b) => a.seq - b.seq);
  }

  toJSON(): { seq: number; hlc: string; outbox: OutboxOp[]; collections: [string, CollectionSync][]; deleted?: [string, number][] } {
    return { seq: this.seq, hlc: this.hlc, outbox: this.outbox, collections: [...this.collections], deleted: [...this.deleted] };
  }

  static fromJSON(j: ReturnType<SyncState['toJSON']> | undefined): SyncState {
    const s = new SyncState();
    if (!j) return s;
    s.seq = j.seq;
    s.hlc = j.hlc;
    s.outbox.push(...j.outbox);
    for (const [c, v] of j.collections) s.collections.set(c, v);
    for (const [k, v] of j.deleted ?? []) s.deleted.set(k, v);
    return s;
  }
}

/** The wire form of a local change: what changed between `old` and `doc` (top-level fields). */
export function describeChange(old: Doc | undefined, doc: Doc | undefined): Pick<OutboxOp, 'kind' | 'doc' | 'set' | 'unset'> | null {
  if (!doc) return { kind: 'del' };
  if (!old) return { kind: 'put', doc: withoutLocal(doc) };
  const set: Record<string, unknown> = {};
  const unset: string[] = [];
  let changed = false;
  for (const k of Object.keys(doc)) {
    if (LOCAL_ONLY.has(k)) continue;
    if (!Object.hasOwn(old, k) || JSON.stringify(old[k]) !== JSON.stringify(doc[k])) {
      setOwn(set, k, doc[k]);
      changed = true;
    }
  }
  for (const k of Object.keys(old)) {
    // Own properties only: `"constructor" in doc` is true for every object.
    if (!LOCAL_ONLY.has(k) && !Object.hasOwn(doc, k)) {
      unset.push(k);
      changed = true;
    }
  }
  if (!changed) return null;
  const out: Pick<OutboxOp, 'kind' | 'set' | 'unset'> = { kind: 'patch' };
  if (Object.keys(set).length) out.set = set;
  if (unset.length) out.unset = unset;
  return out;
}

export function withoutLocal(doc: Doc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(doc)) if (!LOCAL_ONLY.has(k)) setOwn(out, k, doc[k]);
  return out;
}

export function deletedKey(coll: string, id: string): string {
  return `${coll}\u0000${id}`;
}

/** Server version a document's state is based on. */
export function versionOf(doc: Doc | undefined): number {
  return doc && typeof doc._v === 'number' ? doc._v : 0;
}

/** A change pulled from the server: the latest state of one document (or its deletion). */
export interface PulledChange {
  v: number;
  coll: string;
  id: string;
  doc?: Record<string, unknown>;
  deleted?: true;
  hlc: string;
}

/**
 * The local view of a document after pulling `change`: the server's state, then every pending
 * local op on that document re-applied in `seq` order (a rebase, as Replicache does). The
 * pending ops keep their original `base`, so the server still sees them as concurrent with
 * what was just pulled and merges them field by field when they are pushed.
 */
export function rebase(change: PulledChange, pending: readonly OutboxOp[]): Record<string, unknown> | undefined {
  let cur: Record<string, unknown> | undefined;
  if (!change.deleted) {
    cur = { _id: change.id }; // `_id` first: the stored form the checkpoint loader reads
    const doc = change.doc ?? {};
    for (const k of Object.keys(doc)) if (k !== '_id') setOwn(cur, k, doc[k]);
  }
  for (const op of pending) {
    if (op.kind === 'del') cur = undefined;
    else if (op.kind === 'put') cur = { ...op.doc, _id: change.id };
    else {
      const next: Record<string, unknown> = { ...(cur ?? { _id: change.id }), ...op.set };
      for (const k of op.unset ?? []) delete next[k];
      cur = next;
    }
  }
  if (cur) cur._v = change.v;
  return cur;
}
