import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptionError, StorageError } from '../errors';
import { encodeFrame, FRAME_HEADER_BYTES, readFrame } from './frame';
import { decodePayload, encodeSeal, LogRecord } from './records';
import {
  fsClose, fsFdatasync, fsFstat, fsFtruncate, fsOpen, fsyncDir, isNotFound, readRange, writeAll,
} from './fsutil';

/** Records are read in chunks of this size (grown when one record is larger). */
const READ_CHUNK_BYTES = 64 * 1024;
const RECOVERY_CHUNK_BYTES = 8 * 1024 * 1024;
/** Segments grow by zero-filled steps between these sizes. */
const PREALLOCATE_MIN_BYTES = 64 * 1024;
const PREALLOCATE_MAX_BYTES = 1024 * 1024;

/** Twelve zero bytes: where the written records of a preallocated segment end. */
function isZeroHeader(buf: Buffer, pos: number, end: number): boolean {
  const stop = Math.min(end, pos + FRAME_HEADER_BYTES);
  for (let i = pos; i < stop; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Commits up to this size are written synchronously (see append). */
const SYNC_WRITE_MAX_BYTES = 64 * 1024;

function writeAllSync(fd: number, buf: Buffer, pos: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, pos + done);
}

const SEGMENT_RE = /^wal-(\d{16})\.log$/;

export function segmentName(startLsn: number): string {
  return `wal-${String(startLsn).padStart(16, '0')}.log`;
}

export interface Segment {
  startLsn: number;
  file: string;
}

/** Lists log segments in LSN order. */
export async function listSegments(dir: string): Promise<Segment[]> {
  const names = await fs.promises.readdir(dir);
  const out: Segment[] = [];
  for (const name of names) {
    const m = SEGMENT_RE.exec(name);
    if (m) out.push({ startLsn: Number(m[1]), file: path.join(dir, name) });
  }
  return out.sort((a, b) => a.startLsn - b.startLsn);
}

export type CorruptionPolicy = 'throw' | 'truncate';

export type CatchUpResult = 'ok' | 'reload';

/**
 * The database's one write-ahead log: a chain of segment files `wal-<first LSN>.log`, each
 * ended by a seal record naming the next. Every process that opens the database keeps a read
 * position in the chain; writers append only while holding the database's write lock and after
 * catching up, so the chain is one total order of records (the LSN order).
 */
export class WriteAheadLog {
  private fd: number | null = null;
  private segment: Segment | null = null;
  /** Bytes of the current segment that have been read and applied (== its valid end). */
  private offset = 0;
  /** Bytes of the current segment file (records plus zeroed space after them). */
  private allocated = 0;
  /** A background preallocation in progress. */
  private extending: Promise<void> | null = null;
  /** The LSN of the last record applied. */
  lastLsn = 0;
  /** The next segment's first LSN, when a seal was read before that segment existed. */
  private sealedTo: number | null = null;
  /** Bytes appended by anyone since the last checkpoint, as far as this process knows. */
  bytesSinceCheckpoint = 0;
  recordsSinceCheckpoint = 0;

  constructor(
    readonly dir: string,
    private readonly segmentBytes: number,
    private readonly onCorruption: CorruptionPolicy,
    /** Read only: nothing is created, cut, preallocated or appended; a torn tail is left as it is. */
    private readonly readOnly = false,
  ) {}

  /** A segment is open (false for a read-only log of a database that has none yet). */
  get isOpen(): boolean {
    return this.fd !== null;
  }

  get currentSegment(): Segment | null {
    return this.segment;
  }

  /**
   * Replays every record after `afterLsn`, from all segments, and positions the log at the end.
   * Must run under the write lock: a damaged tail of the last segment (a crash mid-append) is cut
   * off here, and nobody else may be appending meanwhile.
   */
  async recover(afterLsn: number, apply: (rec: LogRecord) => void): Promise<void> {
    if (!this.readOnly) await fs.promises.mkdir(this.dir, { recursive: true });
    this.lastLsn = afterLsn;
    const segments = this.readOnly && !fs.existsSync(this.dir) ? [] : await listSegments(this.dir);
    // Segments wholly before the checkpoint are leftovers of a crash between checkpoint and
    // cleanup; start at the last segment that begins at or before the first needed LSN.
    let first = 0;
    for (let i = 0; i < segments.length; i++) if (segments[i].startLsn <= afterLsn + 1) first = i;
    const chain = segments.slice(first);
    if (chain.length > 0 && chain[0].startLsn > afterLsn + 1) {
      throw new CorruptionError(chain[0].file, 0, `the log starts at LSN ${chain[0].startLsn} but the newest checkpoint ends at LSN ${afterLsn}; records in between are missing`);
    }
    if (chain.length === 0) {
      if (this.readOnly) return; // nothing to read; catchUp() reports the log closed, the owner reloads
      await this.openSegment({ startLsn: afterLsn + 1, file: path.join(this.dir, segmentName(afterLsn + 1)) }, true);
      return;
    }
    for (let i = 0; i < chain.length; i++) {
      const isLast = i === chain.length - 1;
      await this.openSegment(chain[i], false);
      // Read only, the end of the last segment is read like another process's tail: an
      // incomplete record is left for its writer (or the next writable open) to finish or cut.
      const sealedTo = await this.readSegment(apply, isLast ? (this.readOnly ? 'tail' : 'recover-last') : 'recover-sealed');
      if (!isLast && sealedTo === null) {
        // A segment without a seal followed by another one: the writer of the next segment
        // sealed nothing, which our writers never do. Treat as damage.
        throw new CorruptionError(chain[i].file, this.offset, 'segment ends without a seal but a later segment exists');
      }
      if (isLast && sealedTo !== null && this.readOnly) this.sealedTo = sealedTo; // its next segment is not there yet
      if (isLast && sealedTo !== null && !this.readOnly) {
        // Crash after sealing, before creating the next segment.
        await this.openSegment({ startLsn: sealedTo, file: path.join(this.dir, segmentName(sealedTo)) }, true);
      }
    }
  }

  /**
   * Applies records that other processes appended since our last read. Without the lock an
   * incomplete tail is someone's append in progress: stop and come back later. With the lock it
   * is a crashed writer's torn record: cut it off. Returns 'reload' when the segments we still
   * needed were removed by another process's checkpoint (the caller reloads from it).
   */
  async catchUp(apply: (rec: LogRecord) => void, locked: boolean): Promise<CatchUpResult> {
    if (this.fd === null) throw new StorageError('The log is not open.');
    for (;;) {
      // A seal read earlier whose next segment did not exist yet: look for it again.
      const next = this.sealedTo ?? (await this.readSegment(apply, locked ? 'tail-locked' : 'tail'));
      this.sealedTo = null;
      if (next === null) return 'ok';
      const file = path.join(this.dir, segmentName(next));
      let exists = true;
      try {
        await fs.promises.access(file);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        exists = false;
      }
      if (!exists) {
        // Sealed but the next segment is missing: either the sealer crashed before creating it
        // (we create it if we hold the lock), or a checkpoint removed it after we fell behind.
        const segments = await listSegments(this.dir);
        if (segments.some((s) => s.startLsn > next)) return 'reload';
        if (!locked) {
          // The writer sealed this segment and has not created the next one yet: the position
          // is past the seal, so remember where to go on (reading again would find nothing).
          this.sealedTo = next;
          return 'ok';
        }
      }
      try {
        await this.openSegment({ startLsn: next, file }, !exists);
      } catch (err) {
        // Another process's checkpoint may remove the segment between the check above and the
        // open (old segments are removed after the checkpoint is written, outside the lock):
        // it is covered by that checkpoint, so reload from it.
        if (exists && isNotFound(err)) return 'reload';
        throw err;
      }
    }
  }

  /** Appends record payloads as one write and makes them durable. Caller holds the lock. */
  async append(payloads: (Buffer | string)[]): Promise<void> {
    if (this.fd === null || this.segment === null) throw new StorageError('The log is not open.');
    const frames = payloads.map(encodeFrame);
    const buf = frames.length === 1 ? frames[0] : Buffer.concat(frames);
    try {
      if (this.offset + buf.length > this.allocated) {
        if (this.extending) await this.extending;
        if (this.offset + buf.length > this.allocated) await this.preallocate(this.offset + buf.length);
      }
      // A small commit is written synchronously: on a local disk its durable write takes a
      // fraction of a millisecond, less than the thread-pool round trip an asynchronous write
      // costs on top (the same trade SQLite makes for every commit). Large batches go async.
      if (buf.length <= SYNC_WRITE_MAX_BYTES) writeAllSync(this.fd, buf, this.offset);
      else await writeAll(this.fd, buf, this.offset);
    } catch (err) {
      // The file may now hold part of the write; zero it so the next append starts clean.
      try { await writeAll(this.fd, Buffer.alloc(buf.length), this.offset); } catch { /* the error below is what matters */ }
      throw new StorageError(`Could not write the database log ${this.segment.file}: ${(err as Error).message}. The write was not saved; free disk space or check the disk, then retry.`, err);
    }
    this.offset += buf.length;
    this.bytesSinceCheckpoint += buf.length;
    this.recordsSinceCheckpoint += payloads.length;
    // Zero the next stretch in the background, beyond the end appends use, so commits seldom
    // wait for it.
    if (!this.extending && this.allocated - this.offset < PREALLOCATE_MIN_BYTES) {
      const fd = this.fd;
      const ext = this.preallocate(this.offset + PREALLOCATE_MIN_BYTES, fd).catch(() => undefined);
      this.extending = ext.finally(() => {
        if (this.extending === ext) this.extending = null;
      });
    }
  }

  /**
   * Extends the segment with zeros written to disk (not a sparse hole), so that later appends
   * overwrite allocated blocks: the file size stays the same and a synchronous write need not
   * commit file-system metadata. This is what makes one durable write cheap.
   */
  private async preallocate(needed: number, fd = this.fd!): Promise<void> {
    const step = Math.max(PREALLOCATE_MIN_BYTES, Math.min(this.segmentBytes, PREALLOCATE_MAX_BYTES));
    const from = this.allocated;
    const target = Math.max(needed, from + step);
    await writeAll(fd, Buffer.alloc(target - from), from);
    if (fd === this.fd && this.allocated === from) this.allocated = target;
  }

  /** True when the current segment has reached its size limit. */
  get segmentFull(): boolean {
    return this.offset >= this.segmentBytes;
  }

  /**
   * Ends the current segment with a seal and starts `wal-<lastLsn+1>.log`. Caller holds the
   * lock and is caught up. After this, every record up to `lastLsn` is in older segments.
   */
  async rotate(): Promise<Segment> {
    if (this.fd === null || this.segment === null) throw new StorageError('The log is not open.');
    const next = this.lastLsn + 1;
    if (this.segment.startLsn === next && this.offset === 0) return this.segment; // already fresh
    const seal = encodeFrame(encodeSeal(next));
    if (this.offset + seal.length > this.allocated) await this.preallocate(this.offset + seal.length);
    await writeAll(this.fd, seal, this.offset);
    this.offset += seal.length;
    const segment = { startLsn: next, file: path.join(this.dir, segmentName(next)) };
    await this.openSegment(segment, true);
    return segment;
  }

  async close(): Promise<void> {
    if (this.extending) await this.extending;
    if (this.fd !== null) {
      const fd = this.fd;
      this.fd = null;
      await fsClose(fd);
    }
  }

  private async openSegment(segment: Segment, create: boolean): Promise<void> {
    if (this.extending) await this.extending;
    // Open first: if the open fails, the current segment stays open and usable.
    // O_DSYNC: a write returns once it is on disk, so a commit costs one system call, not two.
    const flags = this.readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR | fs.constants.O_DSYNC | (create ? fs.constants.O_CREAT : 0);
    const fd = await fsOpen(segment.file, flags);
    if (this.fd !== null) {
      const old = this.fd;
      this.fd = null;
      await fsClose(old);
    }
    this.fd = fd;
    if (create) await fsyncDir(this.dir);
    this.segment = segment;
    this.offset = 0;
    this.allocated = (await fsFstat(this.fd)).size;
  }

  /**
   * Reads the current segment from `offset` to the end of its records, applying them. Returns the
   * next segment's first LSN when a seal was read, else null. Segments are preallocated with
   * zeros, so the records end where a frame header of zero bytes begins.
   */
  private async readSegment(
    apply: (rec: LogRecord) => void,
    mode: 'recover-last' | 'recover-sealed' | 'tail' | 'tail-locked',
  ): Promise<number | null> {
    const fd = this.fd!;
    const file = this.segment!.file;
    const size = (await fsFstat(fd)).size;
    // Recovery reads big chunks (the whole log is needed); tailing reads small ones (usually
    // there is little new, and segments are mostly preallocated zeros).
    let want = mode === 'recover-last' || mode === 'recover-sealed' ? RECOVERY_CHUNK_BYTES : READ_CHUNK_BYTES;
    while (this.offset < size) {
      const buf = await readRange(fd, this.offset, Math.min(size, this.offset + want));
      const end = buf.length;
      const atEof = this.offset + end >= size;
      let pos = 0;
      let need = 0;
      while (pos < end) {
        if (end - pos < FRAME_HEADER_BYTES && !atEof) break; // a header split by the chunk
        if (isZeroHeader(buf, pos, end)) {
          this.offset += pos;
          return null; // the preallocated, never written part
        }
        const frame = readFrame(buf, pos, end);
        if (frame.kind === 'incomplete' && !atEof) {
          need = end - pos >= 4 ? buf.readUInt32LE(pos) + FRAME_HEADER_BYTES : FRAME_HEADER_BYTES;
          break; // read a bigger chunk
        }
        if (frame.kind !== 'ok') {
          const at = this.offset + pos;
          const damagedEnd = frame.kind === 'bad' && frame.reason === 'checksum mismatch' ? this.offset + frame.frameEnd : at + FRAME_HEADER_BYTES;
          const torn = frame.kind === 'incomplete' || (await this.onlyZerosFrom(damagedEnd, size));
          if (torn && mode === 'tail') {
            this.offset = at; // another process may be mid-append: come back later
            return null;
          }
          if (torn && (mode === 'recover-last' || mode === 'tail-locked')) {
            await this.cutAt(at);
            return null;
          }
          if (this.onCorruption === 'truncate') {
            await this.moveAside(at, size);
            return null;
          }
          throw new CorruptionError(file, at, frame.kind === 'bad' ? frame.reason : 'record cut short');
        }
        const decoded = decodePayload(buf, frame.payloadStart, frame.payloadEnd, file);
        pos = frame.payloadEnd;
        if ('seal' in decoded) {
          this.offset += pos;
          return decoded.seal;
        }
        const rec = decoded.record;
        if (rec.lsn > this.lastLsn) {
          if (rec.lsn !== this.lastLsn + 1) {
            throw new CorruptionError(file, this.offset + frame.payloadStart, `LSN ${rec.lsn} follows LSN ${this.lastLsn}; records in between are missing`);
          }
          apply(rec);
          this.lastLsn = rec.lsn;
          this.recordsSinceCheckpoint++;
          this.bytesSinceCheckpoint += frame.payloadEnd - frame.payloadStart;
        }
      }
      this.offset += pos;
      // A frame larger than what was left of the chunk: read at least all of it next time.
      if (pos === 0) want = Math.max(want * 2, need);
    }
    return null;
  }

  /** True when every byte of the segment from `from` to `size` is zero. */
  private async onlyZerosFrom(from: number, size: number): Promise<boolean> {
    for (let at = from; at < size; at += READ_CHUNK_BYTES) {
      const buf = await readRange(this.fd!, at, Math.min(size, at + READ_CHUNK_BYTES));
      for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
    }
    return true;
  }

  /** Cuts the segment at `at` (a torn record's start); later appends preallocate again. */
  private async cutAt(at: number): Promise<void> {
    await fsFtruncate(this.fd!, at);
    await fsFdatasync(this.fd!);
    this.offset = at;
    this.allocated = at;
  }

  /** Keeps the damaged bytes in a side file for inspection, then cuts the log there. */
  private async moveAside(at: number, size: number): Promise<void> {
    const file = this.segment!.file;
    const rest = await readRange(this.fd!, at, size);
    await fs.promises.writeFile(`${file}.corrupt-${Date.now()}`, rest);
    // Later segments continue a chain that is now broken; move them aside too.
    for (const seg of await listSegments(this.dir)) {
      if (seg.startLsn > this.segment!.startLsn) await fs.promises.rename(seg.file, `${seg.file}.corrupt-${Date.now()}`);
    }
    await this.cutAt(at);
  }
}
