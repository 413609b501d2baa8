import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

/** Thin promise wrappers over raw-fd calls: the log needs positional writes and fdatasync. */
export const fsOpen = promisify(fs.open);
export const fsClose = promisify(fs.close);
export const fsWrite = promisify(fs.write) as (fd: number, buf: Buffer, off: number, len: number, pos: number) => Promise<{ bytesWritten: number }>;
export const fsRead = promisify(fs.read) as (fd: number, buf: Buffer, off: number, len: number, pos: number) => Promise<{ bytesRead: number }>;
export const fsFstat = promisify(fs.fstat);
export const fsFdatasync = promisify(fs.fdatasync);
export const fsFsync = promisify(fs.fsync);
export const fsFtruncate = promisify(fs.ftruncate);

/** Makes a directory entry change (create, rename, unlink) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await fsOpen(dir, 'r');
  try {
    await fsFsync(fd);
  } finally {
    await fsClose(fd);
  }
}

/** Reads `[from, to)` of an open file. */
export async function readRange(fd: number, from: number, to: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(to - from);
  let done = 0;
  while (done < buf.length) {
    const { bytesRead } = await fsRead(fd, buf, done, buf.length - done, from + done);
    if (bytesRead === 0) return buf.subarray(0, done);
    done += bytesRead;
  }
  return buf;
}

/** Writes the whole buffer at `pos`. */
export async function writeAll(fd: number, buf: Buffer, pos: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fsWrite(fd, buf, done, buf.length - done, pos + done);
    done += bytesWritten;
  }
}

/**
 * Replaces `file` atomically with `data`: temp file, fsync, rename, directory fsync. A crash at
 * any point leaves either the old file or the new one, never a mix.
 */
export async function writeFileAtomic(file: string, data: Buffer | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fd = await fsOpen(tmp, 'w');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await writeAll(fd, buf, 0);
    await fsFsync(fd);
  } finally {
    await fsClose(fd);
  }
  await fs.promises.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
