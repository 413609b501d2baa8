import { CorruptionError } from '../errors';
import type { OutboxOp } from '../state/sync-state';

/**
 * One change inside a log record. A `put` carries the stored document as JSON text, so a
 * replay can keep it unparsed until somebody reads it (this is what makes opening a large
 * database fast).
 */
export type Op =
  | { o: 'put'; c: string; id: string; doc: string; ttl?: true }
  | { o: 'del'; c: string; id: string; ttl?: true }
  | { o: 'clear'; c: string }
  | { o: 'coll'; c: string }
  | { o: 'drop'; c: string }
  | { o: 'idx'; c: string; f: string; u: boolean }
  | { o: 'unidx'; c: string; f: string }
  /** Sync turned on (`ds` = dataset) or off (`ds` = null) for collection `c`. */
  | { o: 'synccfg'; c: string; ds: string | null }
  /** A local change to push (same record as the change). */
  | { o: 'out'; e: OutboxOp }
  /** The server acknowledged every op of collections `cs` (all when null) up to `upTo`. */
  | { o: 'ack'; upTo: number; cs: string[] | null }
  /** A synced document was deleted at server version `v` (`v` = 0: forget it, it lives again). */
  | { o: 'tomb'; c: string; id: string; v: number }
  /** A pull page was applied (same record as its changes): the new cursor and clock. */
  | { o: 'cursor'; c: string; cursor: string | null; hlc: string; p?: string };

/** A log record: everything one commit (a write, a batch or a transaction) changed. */
export interface LogRecord {
  lsn: number;
  ops: Op[];
}

/**
 * A record's payload is UTF-8 text: a header line `{"lsn":N,"ops":[…]}` describing every op (a
 * `put` without its document), then one line per `put`, in order, holding the document's JSON.
 * JSON.stringify never emits a raw newline, so lines split unambiguously, and a replay parses one
 * header per record while the documents stay text until read. A seal record `{"seal":N}` ends a
 * segment and names the first LSN of the next one.
 */
export function encodeRecord(rec: LogRecord): string {
  // Consecutive puts to one collection share a header entry {o:"puts",c,ids,ttl?}: one JSON
  // array of ids parses far faster than an object per document.
  const header: unknown[] = [];
  let run: { o: 'puts'; c: string; ids: string[]; ttl?: number[] } | null = null;
  let docs = '';
  for (const op of rec.ops) {
    if (op.o === 'put') {
      if (!run || run.c !== op.c) {
        run = { o: 'puts', c: op.c, ids: [] };
        header.push(run);
      }
      if (op.ttl) (run.ttl ??= []).push(run.ids.length);
      run.ids.push(op.id);
      docs += '\n' + op.doc;
    } else {
      run = null;
      header.push(op);
    }
  }
  return `{"lsn":${rec.lsn},"ops":${JSON.stringify(header)}}${docs}`;
}

export function encodeSeal(nextLsn: number): Buffer {
  return Buffer.from(`{"seal":${nextLsn}}`, 'utf8');
}

export type DecodedPayload = { seal: number } | { record: LogRecord };

export function decodePayload(buf: Buffer, start: number, end: number, file: string): DecodedPayload {
  const text = buf.toString('utf8', start, end);
  let nl = text.indexOf('\n');
  if (nl < 0) nl = text.length;
  let header: { lsn?: number; ops?: Op[]; seal?: number };
  try {
    header = JSON.parse(text.slice(0, nl));
  } catch {
    throw new CorruptionError(file, start, 'record header is not JSON');
  }
  if (typeof header.seal === 'number') return { seal: header.seal };
  if (typeof header.lsn !== 'number' || !Array.isArray(header.ops)) {
    throw new CorruptionError(file, start, 'record header has no lsn');
  }
  const ops: Op[] = [];
  let pos = nl + 1;
  const nextLine = (): string => {
    if (pos > text.length) throw new CorruptionError(file, start, 'put without a document');
    let next = text.indexOf('\n', pos);
    if (next < 0) next = text.length;
    const line = text.slice(pos, next);
    pos = next + 1;
    return line;
  };
  for (const entry of header.ops as (Op | { o: 'puts'; c: string; ids: string[]; ttl?: number[] })[]) {
    if (entry.o === 'puts') {
      const ttl = entry.ttl ? new Set(entry.ttl) : null;
      for (let i = 0; i < entry.ids.length; i++) {
        ops.push(ttl?.has(i) ? { o: 'put', c: entry.c, id: entry.ids[i], doc: nextLine(), ttl: true } : { o: 'put', c: entry.c, id: entry.ids[i], doc: nextLine() });
      }
    } else if (KNOWN_OPS.has(entry.o)) {
      ops.push(entry);
    } else {
      throw new CorruptionError(file, start, `unknown operation "${String(entry.o)}" (written by a newer version of WiseJSON?)`);
    }
  }
  return { record: { lsn: header.lsn, ops } };
}

const KNOWN_OPS = new Set(['del', 'clear', 'coll', 'drop', 'idx', 'unidx', 'synccfg', 'out', 'ack', 'cursor', 'tomb']);
