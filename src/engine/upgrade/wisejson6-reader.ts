import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Doc, expiresAt, isExpired, isPlainObject, toJsonDocument, validateId } from '../document';
import { UniqueConstraintError, Wisejson6DataError } from '../errors';
import { FieldIndex } from '../state/field-index';
import { validateCollectionName } from '../options';

/**
 * Reads a database folder written by WiseJSON 6 (6.0.x): one subfolder per collection holding
 * `wal_<name>.log` and `_checkpoints/checkpoint_{meta,data}_<name>_<time>[_segN].json`.
 *
 * WiseJSON 6's own rules, and where we keep more than it does:
 * - The newest *complete* checkpoint is the base: its meta file parses and its data segments
 *   hold exactly `documentCount` documents. A checkpoint cut short by a crash (missing
 *   segments) is passed over for the one before it, as WiseJSON 6 does, and the WAL covers the
 *   difference (WiseJSON 6 compacts its WAL only after the whole checkpoint is written).
 * - Then the WAL, in the order it was written: entries stamped after the checkpoint's time
 *   (the document's `updatedAt`, else the entry's `ts`), and transactions whose commit line is
 *   there. Removes and clears carry no time: WiseJSON 6 skips them on load once a checkpoint
 *   exists (the removed documents come back); here they are applied, since its compaction
 *   drops every untimed entry, so one still in the WAL was written after the checkpoint.
 *   Transaction ops that a compaction kept without their start and commit lines are applied
 *   too (WiseJSON 6 ignores them).
 * - Expired documents (`expireAt`, `ttl`) are left out, as WiseJSON 6 drops them on load.
 * - A file that does not parse is damage, not a crash (WiseJSON 6 writes checkpoints by
 *   rename): it stops the read with an error naming the file, unless `recover` is set; then it
 *   is skipped and counted. The last WAL line cut short without its newline is a torn append,
 *   which WiseJSON 6 also ignores.
 */

export interface Wisejson6Index {
  field: string;
  unique: boolean;
}

export interface Wisejson6Collection {
  name: string;
  /** The documents as they will be stored: string `_id`, JSON values, none expired. */
  docs: Doc[];
  indexes: Wisejson6Index[];
}

/** Something of the old data that is not carried over, and why (it stays in the backup). */
export interface Wisejson6Problem {
  collection: string;
  id?: string;
  reason: string;
}

export interface Wisejson6Data {
  collections: Wisejson6Collection[];
  /** Entries of the database folder that are WiseJSON 6's (collection folders, their locks). */
  entries: string[];
  /** Documents whose numeric `_id` became its decimal string. */
  renamedIds: number;
  /** Expired documents left out. */
  expired: number;
  /** With `recover`: damaged files passed over, and the documents and WAL lines they held. */
  skipped: { files: string[]; documents: number; walLines: number };
  problems: Wisejson6Problem[];
}

export interface Wisejson6ReadOptions {
  /** Skip damaged files instead of stopping (counted in `skipped`). */
  recover?: boolean;
  /** `_id` for a document inserted in a transaction without one (WiseJSON 6 generated it on every load). */
  idGenerator?: () => string;
  now?: number;
}

const CHECKPOINTS = '_checkpoints';

function walName(collection: string): string {
  return `wal_${collection}.log`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.promises.stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * The collection folders of a WiseJSON 6 database in `dbPath` (empty when it holds none): the
 * subfolders WiseJSON 6 would list that hold its WAL file or its checkpoints folder.
 */
export async function findWisejson6Collections(dbPath: string): Promise<string[]> {
  let items: fs.Dirent[];
  try {
    items = await fs.promises.readdir(dbPath, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const item of items) {
    if (!item.isDirectory() || item.name.startsWith('.') || item.name.endsWith('.lock') || item.name === CHECKPOINTS || item.name === 'node_modules') continue;
    const dir = path.join(dbPath, item.name);
    if ((await exists(path.join(dir, walName(item.name)))) || (await exists(path.join(dir, CHECKPOINTS)))) out.push(item.name);
  }
  return out.sort();
}

/** Reads every collection of the WiseJSON 6 database in `dbPath`. Writes nothing. */
export async function readWisejson6(dbPath: string, options: Wisejson6ReadOptions = {}): Promise<Wisejson6Data> {
  const names = await findWisejson6Collections(dbPath);
  const data: Wisejson6Data = { collections: [], entries: [], renamedIds: 0, expired: 0, skipped: { files: [], documents: 0, walLines: 0 }, problems: [] };
  const all = new Set(await fs.promises.readdir(dbPath));
  for (const name of names) {
    data.entries.push(name);
    // proper-lockfile's lock folder of a collection WiseJSON 6 had open.
    if (all.has(`${name}.lock`)) data.entries.push(`${name}.lock`);
    const reader = new CollectionReader(dbPath, name, options, data);
    const collection = await reader.read();
    if (collection) data.collections.push(collection);
  }
  return data;
}

type LegacyId = string | number;
type LegacyDoc = Record<string, unknown> & { _id: LegacyId };

class CollectionReader {
  private readonly dir: string;
  private readonly docs = new Map<unknown, LegacyDoc>();

  constructor(
    dbPath: string,
    private readonly name: string,
    private readonly options: Wisejson6ReadOptions,
    private readonly data: Wisejson6Data,
  ) {
    this.dir = path.join(dbPath, name);
  }

  async read(): Promise<Wisejson6Collection | null> {
    const base = await this.loadCheckpoint();
    const walTime = base ? Date.parse(base.timestamp) : NaN;
    await this.replayWal(Number.isNaN(walTime) ? null : walTime);
    try {
      validateCollectionName(this.name);
    } catch (err) {
      this.data.problems.push({ collection: this.name, reason: `the collection name cannot be used (${(err as Error).message})` });
      return null;
    }
    const docs = this.convert();
    return { name: this.name, docs, indexes: this.indexes(base?.indexes ?? [], docs) };
  }

  private damaged(file: string, detail: string, documents: number): void {
    if (!this.options.recover) throw new Wisejson6DataError(file, detail);
    this.data.skipped.files.push(file);
    this.data.skipped.documents += documents;
  }

  /** A WAL line that cannot be applied: an error, or with `recover` one more line skipped. */
  private damagedWalLine(file: string, detail: string): void {
    if (!this.options.recover) throw new Wisejson6DataError(file, detail);
    this.data.skipped.walLines++;
    if (!this.data.skipped.files.includes(file)) this.data.skipped.files.push(file);
  }

  // --- Checkpoints --------------------------------------------------------------------------

  private async loadCheckpoint(): Promise<{ timestamp: string; indexes: unknown[] } | null> {
    const dir = path.join(this.dir, CHECKPOINTS);
    let files: string[];
    try {
      files = await fs.promises.readdir(dir);
    } catch {
      return null;
    }
    const metaRe = new RegExp(`^checkpoint_meta_${escapeRe(this.name)}_([\\dTZ-]+)\\.json$`);
    const metas = files.filter((f) => metaRe.test(f)).sort();
    for (let i = metas.length - 1; i >= 0; i--) {
      const stamp = metaRe.exec(metas[i])![1];
      const metaFile = path.join(dir, metas[i]);
      const meta = await this.readJson(metaFile);
      if (meta === undefined) continue;
      if (!isPlainObject(meta) || typeof meta.timestamp !== 'string') {
        this.damaged(metaFile, 'it is not a checkpoint description with a timestamp', 0);
        continue;
      }
      const expected = typeof meta.documentCount === 'number' ? meta.documentCount : 0;
      const segRe = new RegExp(`^checkpoint_data_${escapeRe(this.name)}_${escapeRe(stamp)}_seg(\\d+)\\.json$`);
      const segments = files
        .map((f) => ({ f, m: segRe.exec(f) }))
        .filter((s) => s.m)
        .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
        .map((s) => path.join(dir, s.f));
      const docs: LegacyDoc[] = [];
      let complete = true;
      for (const file of segments) {
        const seg = await this.readJson(file);
        if (seg === undefined) {
          complete = false;
          continue;
        }
        if (!Array.isArray(seg)) {
          this.damaged(file, 'it does not hold an array of documents', 0);
          complete = false;
          continue;
        }
        for (const doc of seg) if (isPlainObject(doc) && doc._id !== undefined) docs.push(doc as LegacyDoc);
      }
      if (!complete && this.options.recover) {
        // Recovering: keep what the newest checkpoint's intact segments hold; count the rest.
        this.data.skipped.documents += Math.max(0, expected - docs.length);
      } else if (docs.length < expected) {
        // Cut short by a crash (a segment never written): WiseJSON 6 falls back to the one before.
        continue;
      }
      for (const doc of docs) this.docs.set(doc._id, doc);
      return { timestamp: meta.timestamp, indexes: Array.isArray(meta.indexesMeta) ? meta.indexesMeta : [] };
    }
    return null;
  }

  /** Parsed JSON; undefined when it is damaged and skipped (with `recover`). */
  private async readJson(file: string): Promise<unknown> {
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      throw new Wisejson6DataError(file, (err as Error).message);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      this.damaged(file, `not JSON: ${(err as Error).message}`, 0);
      return undefined;
    }
  }

  // --- WAL ------------------------------------------------------------------------------------

  private async replayWal(after: number | null): Promise<void> {
    const file = path.join(this.dir, walName(this.name));
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new Wisejson6DataError(file, (err as Error).message);
    }
    const lines = text.split('\n');
    const torn = !text.endsWith('\n') ? lines.length - 1 : -1;
    const txns = new Map<string, Record<string, unknown>[]>();
    const isAfter = (time: unknown): boolean => {
      if (after === null) return true;
      const t = typeof time === 'string' ? Date.parse(time) : NaN;
      return !Number.isNaN(t) && t > after;
    };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (!line.trim()) continue;
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch (err) {
        if (i === torn) break; // an append cut short by a crash: never acknowledged
        this.damagedWalLine(file, `line ${i + 1} is not JSON: ${(err as Error).message}`);
        continue;
      }
      if (!isPlainObject(entry)) continue;
      try {
        if (typeof entry.txn === 'string') {
          const txid = String(entry.id ?? entry.txid ?? '');
          if (!txid) continue;
          if (entry.txn === 'start') txns.set(txid, []);
          else if (entry.txn === 'op') {
            const ops = txns.get(txid);
            if (ops) ops.push(entry);
            else if (isAfter(entry.ts)) this.applyTxnOp(entry, txid); // kept by a compaction without its block
          } else if (entry.txn === 'commit') {
            const ops = txns.get(txid);
            txns.delete(txid);
            if (ops && isAfter(entry.ts)) for (const op of ops) this.applyTxnOp(op, txid);
          }
          continue;
        }
        const time = entryTime(entry);
        if (time === undefined ? true : isAfter(time)) this.applyEntry(entry);
      } catch (err) {
        this.damagedWalLine(file, `line ${i + 1}: ${(err as Error).message}`);
      }
    }
    // Transactions without a commit line never happened (WiseJSON 6 ignores them too).
  }

  private applyEntry(e: Record<string, unknown>): void {
    switch (e.op) {
      case 'INSERT':
        this.put(e.doc);
        break;
      case 'BATCH_INSERT':
        if (!Array.isArray(e.docs)) throw new Error('BATCH_INSERT without a docs array');
        for (const d of e.docs) this.put(d);
        break;
      case 'UPDATE': {
        if (!isPlainObject(e.data)) throw new Error('UPDATE without data');
        const id = e.id as LegacyId;
        const prev = this.docs.get(id);
        if (prev) this.docs.set(id, { ...prev, ...e.data, _id: prev._id });
        else {
          // WiseJSON 6 creates the document on load when the update's target is not there.
          const at = typeof e.data.updatedAt === 'string' ? e.data.updatedAt : new Date(this.options.now ?? Date.now()).toISOString();
          this.docs.set(id, { _id: id, createdAt: at, ...e.data, updatedAt: at });
        }
        break;
      }
      case 'REMOVE':
        this.docs.delete(e.id);
        break;
      case 'CLEAR':
        this.docs.clear();
        break;
      default:
        throw new Error(`unknown operation ${JSON.stringify(e.op)}`);
    }
  }

  private put(doc: unknown): void {
    if (!isPlainObject(doc) || doc._id === undefined || doc._id === null || doc._id === '') throw new Error('a document without _id');
    this.docs.set(doc._id, doc as LegacyDoc);
  }

  private applyTxnOp(op: Record<string, unknown>, txid: string): void {
    const args = Array.isArray(op.args) ? op.args : [];
    const at = typeof op.ts === 'string' ? op.ts : new Date(this.options.now ?? Date.now()).toISOString();
    const insert = (d: unknown): void => {
      if (!isPlainObject(d)) throw new Error('a transaction insert without a document');
      const _id = (d._id as LegacyId | undefined) || (this.options.idGenerator ?? randomUUID)();
      this.docs.set(_id, { ...d, _id, createdAt: d.createdAt ?? at, updatedAt: d.updatedAt ?? at, _txn: txid });
    };
    switch (op.type) {
      case 'insert':
        insert(args[0]);
        break;
      case 'insertMany':
        if (!Array.isArray(args[0])) throw new Error('a transaction insertMany without an array');
        for (const d of args[0]) insert(d);
        break;
      case 'update': {
        const prev = this.docs.get(args[0]);
        if (!prev || !isPlainObject(args[1])) break;
        const { _id, createdAt, ...rest } = args[1];
        void _id;
        void createdAt;
        this.docs.set(prev._id, { ...prev, ...rest, updatedAt: (args[1].updatedAt as string | undefined) ?? at, _txn: txid });
        break;
      }
      case 'remove':
        this.docs.delete(args[0]);
        break;
      case 'clear':
        this.docs.clear();
        break;
      default:
        throw new Error(`unknown transaction operation ${JSON.stringify(op.type)}`);
    }
  }

  // --- Conversion -----------------------------------------------------------------------------

  /** Our documents: numeric ids as decimal strings, expired ones left out, unstorable ones reported. */
  private convert(): Doc[] {
    const now = this.options.now ?? Date.now();
    const out = new Map<string, Doc>();
    // String ids first, so a numeric id that collides with one (5 and "5") is the one reported.
    const entries = [...this.docs.values()].sort((a, b) => Number(typeof a._id !== 'string') - Number(typeof b._id !== 'string'));
    for (const legacy of entries) {
      const raw = legacy._id;
      const numeric = typeof raw === 'number' && Number.isFinite(raw);
      const shown = typeof raw === 'string' ? raw : JSON.stringify(raw);
      let id: string;
      try {
        id = validateId(numeric ? String(raw) : raw, this.name);
      } catch (err) {
        this.data.problems.push({ collection: this.name, id: shown, reason: (err as Error).message });
        continue;
      }
      if (out.has(id)) {
        this.data.problems.push({ collection: this.name, id: shown, reason: `its numeric _id becomes "${id}", which another document already has` });
        continue;
      }
      let doc: Doc;
      try {
        // `_id` first: the checkpoint loader relies on it (WiseJSON 6 put it anywhere).
        const { _id: _old, ...fields } = legacy;
        void _old;
        doc = toJsonDocument({ _id: id, ...fields }, this.name);
      } catch (err) {
        this.data.problems.push({ collection: this.name, id, reason: (err as Error).message });
        continue;
      }
      if (expiresAt(doc) !== null && isExpired(doc, now)) {
        this.data.expired++;
        continue;
      }
      if (numeric) this.data.renamedIds++;
      out.set(id, doc);
    }
    return [...out.values()];
  }

  /** Index definitions; a unique index whose values repeat in the data becomes a standard one. */
  private indexes(meta: unknown[], docs: Doc[]): Wisejson6Index[] {
    const out: Wisejson6Index[] = [];
    for (const m of meta) {
      if (!isPlainObject(m) || typeof m.fieldName !== 'string' || !m.fieldName) continue;
      if (out.some((i) => i.field === m.fieldName)) continue;
      let unique = m.type === 'unique';
      if (unique) {
        const index = new FieldIndex(this.name, m.fieldName, true);
        try {
          for (const doc of docs) index.add(doc, true);
        } catch (err) {
          if (!(err instanceof UniqueConstraintError)) throw err;
          unique = false;
          this.data.problems.push({ collection: this.name, reason: `the unique index on "${m.fieldName}" becomes a standard index: ${err.message}` });
        }
      }
      out.push({ field: m.fieldName, unique });
    }
    return out;
  }
}

/** An entry's time as WiseJSON 6 reads it; undefined when it carries none. */
function entryTime(e: Record<string, unknown>): unknown {
  const doc = e.doc as Record<string, unknown> | undefined;
  const docs = e.docs as Record<string, unknown>[] | undefined;
  const data = e.data as Record<string, unknown> | undefined;
  return doc?.updatedAt ?? (Array.isArray(docs) && docs.length > 0 ? docs[0]?.updatedAt : undefined) ?? data?.updatedAt ?? e.ts;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
