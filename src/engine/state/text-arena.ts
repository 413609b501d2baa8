/**
 * JSON lines kept in large Buffers, outside the JS heap: the text of documents stored but not
 * read yet (pulled by a first sync, replayed from the log). As JS strings, 100k documents of
 * ~1 KiB were ~100 MB of heap that every garbage collection had to copy and promote, with the
 * heap's growth slack on top; here they are their UTF-8 bytes and nothing else.
 *
 * Append-only: a line, once written, never changes, so a checkpoint can take the chunks as they
 * are (`view`) and write them while the collection goes on. A line is dead once its document was
 * parsed, replaced or deleted (`free`); a chunk whose lines are all dead is released, and the
 * owner compacts (`wasted`) when the dead bytes outweigh the live ones.
 */
export class TextArena {
  private readonly chunks: (Buffer | null)[] = [];
  /** Per chunk: the bytes written into it, and how many of them are live lines. */
  private readonly used: number[] = [];
  private readonly live: number[] = [];
  private liveBytes = 0;
  /** Dead bytes in chunks still held. */
  private deadBytes = 0;

  /** Lines longer than this (in UTF-16 units) stay JS strings. */
  static readonly MAX_LINE = 1 << 20;

  /** A handle for `text` (JSON: no raw newline in it), or null when it is too long for the arena. */
  append(text: string): number | null {
    if (text.length > TextArena.MAX_LINE) return null;
    let i = this.chunks.length - 1;
    let chunk = i >= 0 ? this.chunks[i] : null;
    // At most 3 bytes of UTF-8 per UTF-16 unit: count exactly only near the chunk's end.
    let need = text.length * 3 + 1;
    if (chunk && chunk.length - this.used[i] < need) {
      need = Buffer.byteLength(text, 'utf8') + 1;
      if (chunk.length - this.used[i] < need) chunk = null;
    }
    if (!chunk) {
      // Small collections take small chunks; large ones 8 MiB at a time.
      const size = Math.min(CHUNK_SPAN, i < 0 ? 64 * 1024 : this.chunks[i]!.length * 2);
      chunk = Buffer.allocUnsafeSlow(Math.max(size, need));
      // The chunk that was last may have died while it was still being written.
      if (i >= 0 && this.live[i] === 0) this.release(i);
      this.chunks.push(chunk);
      this.used.push(0);
      this.live.push(0);
      i++;
    }
    const offset = this.used[i];
    const n = chunk.write(text, offset, 'utf8') + 1;
    chunk[offset + n - 1] = 10;
    this.used[i] += n;
    this.live[i] += n;
    this.liveBytes += n;
    return i * CHUNK_SPAN + offset;
  }

  /** The text of a line. */
  text(handle: number): string {
    const { chunk, offset, end } = this.locate(handle);
    return chunk.toString('utf8', offset, end);
  }

  /** Marks a line dead; releases its chunk when nothing in it is live any more. */
  free(handle: number): void {
    const { offset, end, index } = this.locate(handle);
    const n = end - offset + 1;
    this.live[index] -= n;
    this.liveBytes -= n;
    this.deadBytes += n;
    if (this.live[index] === 0 && index < this.chunks.length - 1) this.release(index);
  }

  private release(index: number): void {
    this.deadBytes -= this.used[index];
    this.chunks[index] = null;
  }

  /** Whether compacting would pay: the dead bytes held outweigh the live ones (and 16 MiB). */
  get wasted(): boolean {
    return this.deadBytes > Math.max(16 * 1024 * 1024, this.liveBytes);
  }

  /** Bytes held: live lines and dead ones not released yet. */
  get bytes(): number {
    return this.liveBytes + this.deadBytes;
  }

  /**
   * The lines as they are now, for a checkpoint written later: a line's bytes (without its
   * newline) by handle. Chunks never change, so the view stays valid whatever comes after.
   */
  view(): (handle: number) => Buffer {
    const chunks = this.chunks.slice();
    return (handle) => {
      const { chunk, offset, end } = lineIn(chunks, handle);
      return chunk.subarray(offset, end);
    };
  }

  private locate(handle: number): Line {
    return lineIn(this.chunks, handle);
  }
}

interface Line {
  chunk: Buffer;
  index: number;
  /** Where the line starts and where its newline is. */
  offset: number;
  end: number;
}

/** Where a handle's line is in `chunks`. */
function lineIn(chunks: readonly (Buffer | null)[], handle: number): Line {
  const index = Math.floor(handle / CHUNK_SPAN);
  const chunk = chunks[index];
  if (!chunk) throw new Error(`text arena: line ${handle} was freed`);
  const offset = handle - index * CHUNK_SPAN;
  return { chunk, index, offset, end: chunk.indexOf(10, offset) };
}

/** Handles are chunk index × CHUNK_SPAN + offset; no chunk is larger. */
const CHUNK_SPAN = 1 << 23;
