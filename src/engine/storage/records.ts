import { CorruptionError } from '../errors';

/**
 * One change inside a log record. A `put` carries the stored document as JSON text, so a
 * replay can keep it unparsed until somebody reads it (this is what makes opening a large
 * database fast).
 */
export type Op =
  | { o: 'put'; c: string; id: string; doc: string }
  | { o: 'del'; c: string; id: string; ttl?: true }
  | { o: 'clear'; c: string }
  | { o: 'coll'; c: string }
  | { o: 'drop'; c: string }
  | { o: 'idx'; c: string; f: string; u: boolean }
  | { o: 'unidx'; c: string; f: string };

/** A log record: everything one commit (a write, a batch or a transaction) changed. */
export interface LogRecord {
  lsn: number;
  ops: Op[];
}

/**
 * A record's payload is UTF-8 text, one JSON value a line: a header `{"lsn":N,"n":K}`, then K
 * op lines, each `put` followed by the document's own line. JSON.stringify never emits a raw
 * newline, so lines split unambiguously. A seal record `{"seal":N}` ends a segment and names the
 * first LSN of the next one.
 */
export function encodeRecord(rec: LogRecord): Buffer {
  let text = `{"lsn":${rec.lsn},"n":${rec.ops.length}}`;
  for (const op of rec.ops) {
    if (op.o === 'put') {
      text += `\n{"o":"put","c":${JSON.stringify(op.c)},"id":${JSON.stringify(op.id)}}\n${op.doc}`;
    } else {
      text += '\n' + JSON.stringify(op);
    }
  }
  return Buffer.from(text, 'utf8');
}

export function encodeSeal(nextLsn: number): Buffer {
  return Buffer.from(`{"seal":${nextLsn}}`, 'utf8');
}

export type DecodedPayload = { seal: number } | { record: LogRecord };

export function decodePayload(buf: Buffer, start: number, end: number, file: string): DecodedPayload {
  const text = buf.toString('utf8', start, end);
  const lines = text.split('\n');
  let header: { lsn?: number; n?: number; seal?: number };
  try {
    header = JSON.parse(lines[0]);
  } catch {
    throw new CorruptionError(file, start, 'record header is not JSON');
  }
  if (typeof header.seal === 'number') return { seal: header.seal };
  if (typeof header.lsn !== 'number' || typeof header.n !== 'number') {
    throw new CorruptionError(file, start, 'record header has no lsn');
  }
  const ops: Op[] = new Array(header.n);
  let line = 1;
  for (let i = 0; i < header.n; i++) {
    const op = JSON.parse(lines[line++]) as Op;
    if (op.o === 'put') {
      const doc = lines[line++];
      if (doc === undefined) throw new CorruptionError(file, start, 'put without a document');
      op.doc = doc;
    } else if (!KNOWN_OPS.has(op.o)) {
      throw new CorruptionError(file, start, `unknown operation "${String(op.o)}" (written by a newer version of WiseJSON?)`);
    }
    ops[i] = op;
  }
  return { record: { lsn: header.lsn, ops } };
}

const KNOWN_OPS = new Set(['put', 'del', 'clear', 'coll', 'drop', 'idx', 'unidx']);
