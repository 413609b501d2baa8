import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { CorruptionError } from '../errors';
import { fsClose, fsFstat, fsFsync, fsOpen, fsyncDir, isNotFound, readRange, writeAll } from './fsutil';

/**
 * A checkpoint is the whole database state at one LSN, in one file:
 *
 *   line 1   header  {"wisejson":"checkpoint","version":1,"lsn":X,"collections":[{name,count,indexes}]}
 *   then     each collection's documents, one JSON document a line, `_id` first
 *   last     footer  {"end":true,"lsn":X,"bytes":B,"crc":C}   (B bytes before it, crc32 C)
 *
 * It is written to a temp file, fsynced, renamed, and the directory fsynced. A file without a
 * matching footer is incomplete and is never loaded.
 */
export interface CheckpointCollection {
  name: string;
  indexes: { field: string; unique: boolean }[];
  /** Documents as JSON text (stored raw: a string, or its UTF-8 bytes) or objects (serialised here). */
  docs: Iterable<string | Buffer | object>;
  count: number;
  /** Ids of the documents that carry `expireAt` or `ttl`. */
  ttl: string[];
}

export interface LoadedCollection {
  name: string;
  indexes: { field: string; unique: boolean }[];
  count: number;
  ttl: string[];
}

export interface LoadedCheckpoint {
  lsn: number;
  file: string;
  collections: LoadedCollection[];
  /** Whatever else the writer put in the header (the sync bookkeeping). */
  extra: Record<string, unknown>;
}

/**
 * Receives each stored document as `(collection index, id, offset)`: its JSON text is the line
 * that starts at byte `offset` of the checkpoint bytes handed to the header callback.
 */
export type DocumentSink = (collection: number, id: string, offset: number) => void;

const NAME_RE = /^ckpt-(\d{16})\.ckpt$/;

export function checkpointName(lsn: number): string {
  return `ckpt-${String(lsn).padStart(16, '0')}.ckpt`;
}

export async function listCheckpoints(dir: string): Promise<{ lsn: number; file: string }[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  const out: { lsn: number; file: string }[] = [];
  for (const name of names) {
    const m = NAME_RE.exec(name);
    if (m) out.push({ lsn: Number(m[1]), file: path.join(dir, name) });
  }
  return out.sort((a, b) => b.lsn - a.lsn); // newest first
}

const CHUNK_BYTES = 1 << 20;
const NEWLINE = Buffer.from('\n');

export async function writeCheckpoint(dir: string, lsn: number, collections: CheckpointCollection[], extra: Record<string, unknown> = {}): Promise<string> {
  await fs.promises.mkdir(dir, { recursive: true });
  const file = path.join(dir, checkpointName(lsn));
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = await fsOpen(tmp, 'w');
  let pos = 0;
  let crc = 0;
  const write = async (data: string | Buffer): Promise<void> => {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    crc = crc32(buf, crc);
    await writeAll(fd, buf, pos);
    pos += buf.length;
  };
  try {
    const header = {
      wisejson: 'checkpoint',
      version: 1,
      lsn,
      createdAt: new Date().toISOString(),
      collections: collections.map((c) => ({ name: c.name, count: c.count, indexes: c.indexes, ttl: c.ttl })),
      extra,
    };
    await write(JSON.stringify(header) + '\n');
    // Lines are gathered into one buffer, reused for every chunk: no garbage of a chunk's size
    // per chunk (a checkpoint of 100k documents would otherwise leave ~100 MB of it behind).
    const out = Buffer.allocUnsafe(CHUNK_BYTES);
    let used = 0;
    const flush = async (): Promise<void> => {
      if (used > 0) await write(out.subarray(0, used)); // also yields to the event loop between chunks
      used = 0;
    };
    for (const c of collections) {
      let n = 0;
      for (const doc of c.docs) {
        n++;
        const line = Buffer.isBuffer(doc) ? doc : typeof doc === 'string' ? doc : JSON.stringify(doc);
        // A UTF-16 unit takes at most 3 bytes of UTF-8.
        const most = (typeof line === 'string' ? line.length * 3 : line.length) + 1;
        if (used + most > CHUNK_BYTES) await flush();
        if (most > CHUNK_BYTES) {
          await write(typeof line === 'string' ? Buffer.from(line + '\n', 'utf8') : Buffer.concat([line, NEWLINE]));
          continue;
        }
        used += typeof line === 'string' ? out.write(line, used, 'utf8') : line.copy(out, used);
        out[used++] = 10;
      }
      if (n !== c.count) throw new Error(`checkpoint of "${c.name}": expected ${c.count} documents, wrote ${n}`);
    }
    await flush();
    const footer = JSON.stringify({ end: true, lsn, bytes: pos, crc }) + '\n';
    await writeAll(fd, Buffer.from(footer, 'utf8'), pos);
    await fsFsync(fd);
  } catch (err) {
    await fsClose(fd).catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await fsClose(fd);
  await fs.promises.rename(tmp, file);
  await fsyncDir(dir);
  return file;
}

/**
 * Loads a checkpoint, handing every document to `sink` (header first, so the caller knows the
 * collections). Throws CorruptionError when it is incomplete or damaged (checked by footer and
 * checksum before anything is handed out).
 */
export async function readCheckpoint(file: string, onHeader: (cp: LoadedCheckpoint, data: Buffer) => void, sink: DocumentSink): Promise<LoadedCheckpoint> {
  const buf = await readWhole(file);
  const footerStart = buf.lastIndexOf(10, buf.length - 2) + 1;
  let footer: { end?: boolean; lsn?: number; bytes?: number; crc?: number };
  try {
    footer = JSON.parse(buf.toString('utf8', footerStart));
  } catch {
    throw new CorruptionError(file, footerStart, 'checkpoint has no footer (it was not written completely)');
  }
  if (footer.end !== true || footer.bytes !== footerStart || typeof footer.lsn !== 'number') {
    throw new CorruptionError(file, footerStart, 'checkpoint footer does not match its contents');
  }
  if (crc32(buf.subarray(0, footerStart)) !== footer.crc) {
    throw new CorruptionError(file, 0, 'checkpoint checksum mismatch');
  }
  let nl = buf.indexOf(NL);
  const header = JSON.parse(buf.toString('utf8', 0, nl)) as {
    lsn: number;
    collections: { name: string; count: number; indexes: { field: string; unique: boolean }[]; ttl?: string[] }[];
    extra?: Record<string, unknown>;
  };
  const loaded: LoadedCheckpoint = {
    lsn: header.lsn,
    file,
    collections: header.collections.map((c) => ({ name: c.name, indexes: c.indexes, count: c.count, ttl: c.ttl ?? [] })),
    extra: header.extra ?? {},
  };
  let pos = nl + 1;
  const data = buf.subarray(0, footerStart);
  onHeader(loaded, data);
  header.collections.forEach((c, ci) => {
    for (let i = 0; i < c.count; i++) {
      nl = data.indexOf(NL, pos);
      if (nl < 0) throw new CorruptionError(file, pos, `collection "${c.name}" has fewer documents than the checkpoint header says`);
      sink(ci, idAt(data, pos, nl), pos);
      pos = nl + 1;
    }
  });
  return loaded;
}

/** Reads a file with as few system calls as possible (readFile would take 512 KiB at a time). */
async function readWhole(file: string): Promise<Buffer> {
  const fd = await fsOpen(file, 'r');
  try {
    const size = (await fsFstat(fd)).size;
    return await readRange(fd, 0, size);
  } finally {
    await fsClose(fd);
  }
}

const NL = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const ID_PREFIX = Buffer.from('{"_id":"');

/**
 * Our serialiser writes `_id` first, so the id of a stored line can be read without parsing the
 * document: the fast path that lets a 100k-document database open in tens of milliseconds.
 */
function idAt(data: Buffer, start: number, end: number): string {
  let prefixed = end - start > ID_PREFIX.length;
  for (let i = 0; prefixed && i < ID_PREFIX.length; i++) if (data[start + i] !== ID_PREFIX[i]) prefixed = false;
  if (prefixed) {
    const from = start + ID_PREFIX.length;
    const close = data.indexOf(QUOTE, from);
    if (close > 0 && close < end) {
      let escaped = false;
      for (let i = from; i < close; i++) if (data[i] === BACKSLASH) escaped = true;
      if (!escaped) return data.toString('utf8', from, close);
    }
  }
  return (JSON.parse(data.toString('utf8', start, end)) as { _id: string })._id;
}
