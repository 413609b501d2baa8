import { randomUUID } from 'node:crypto';
import { isWellFormed } from './document';
import { CollectionNameError, ValidationError } from './errors';

/** Options of `new WiseJSON(path, options)`. Every one has a sensible default. */
export interface WiseJSONOptions {
  /** How often expired (TTL) documents are removed, ms. Default 60 000. 0 turns the timer off (expiry on read still happens). */
  ttlCleanupIntervalMs?: number;
  /** Checkpoint at least this often while there are new writes, ms. Default 300 000. 0 = only by size. */
  checkpointIntervalMs?: number;
  /** Checkpoint after this many log records. Default 20 000. */
  maxWalEntriesBeforeCheckpoint?: number;
  /** Checkpoint after this many log bytes. Default 64 MiB. */
  maxWalBytesBeforeCheckpoint?: number;
  /** Start a new log segment past this size, bytes. Default 16 MiB. */
  walSegmentBytes?: number;
  /** Checkpoints kept on disk (the log is kept back to the oldest of them). Default 2. */
  checkpointsToKeep?: number;
  /** Generates `_id` for documents inserted without one. Default: random UUID. */
  idGenerator?: () => string;
  /** How often this process looks for other processes' writes, ms. Default 250. */
  followIntervalMs?: number;
  /** A write lock older than this belongs to a dead process and is taken over, ms. Default 2000. */
  lockStaleMs?: number;
  /** What to do with a damaged log record that is not a torn tail. Default 'throw'. */
  recoverCorruptLog?: 'throw' | 'truncate';
  /**
   * Open an existing database without writing anything to its folder: no lock file, no log or
   * checkpoint, no upgrade, no TTL removals; other processes' writes are still picked up. Every
   * write rejects with `ReadOnlyError`. For folders that must not be modified (an untrusted
   * workspace). Default false.
   */
  readOnly?: boolean;
}

export type ResolvedOptions = Required<WiseJSONOptions>;

export function resolveOptions(o: WiseJSONOptions = {}): ResolvedOptions {
  const num = (name: keyof WiseJSONOptions, v: unknown, def: number, min: number): number => {
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      throw new ValidationError(`Option ${name} must be a number >= ${min}, got ${JSON.stringify(v)}.`, 'INVALID_OPTION');
    }
    return v;
  };
  if (o.idGenerator !== undefined && typeof o.idGenerator !== 'function') {
    throw new ValidationError('Option idGenerator must be a function returning a string.', 'INVALID_OPTION');
  }
  if (o.readOnly !== undefined && typeof o.readOnly !== 'boolean') {
    throw new ValidationError('Option readOnly must be true or false.', 'INVALID_OPTION');
  }
  if (o.recoverCorruptLog !== undefined && o.recoverCorruptLog !== 'throw' && o.recoverCorruptLog !== 'truncate') {
    throw new ValidationError(`Option recoverCorruptLog must be 'throw' or 'truncate'.`, 'INVALID_OPTION');
  }
  return {
    ttlCleanupIntervalMs: num('ttlCleanupIntervalMs', o.ttlCleanupIntervalMs, 60_000, 0),
    checkpointIntervalMs: num('checkpointIntervalMs', o.checkpointIntervalMs, 300_000, 0),
    maxWalEntriesBeforeCheckpoint: num('maxWalEntriesBeforeCheckpoint', o.maxWalEntriesBeforeCheckpoint, 20_000, 1),
    maxWalBytesBeforeCheckpoint: num('maxWalBytesBeforeCheckpoint', o.maxWalBytesBeforeCheckpoint, 64 * 1024 * 1024, 1),
    walSegmentBytes: num('walSegmentBytes', o.walSegmentBytes, 16 * 1024 * 1024, 1),
    checkpointsToKeep: num('checkpointsToKeep', o.checkpointsToKeep, 2, 1),
    idGenerator: o.idGenerator ?? randomUUID,
    followIntervalMs: num('followIntervalMs', o.followIntervalMs, 250, 10),
    lockStaleMs: num('lockStaleMs', o.lockStaleMs, 2000, 1000),
    recoverCorruptLog: o.recoverCorruptLog ?? 'throw',
    readOnly: o.readOnly === true,
  };
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/** Collection names become part of the log and of tool paths: keep them safe and printable. */
export function validateCollectionName(name: unknown): string {
  if (typeof name !== 'string') throw new CollectionNameError(name, 'it must be a string');
  if (name.length === 0 || name.length > 128) throw new CollectionNameError(name, 'it must be 1-128 characters long');
  if (name.includes('/') || name.includes('\\')) throw new CollectionNameError(name, 'it contains a path separator');
  if (name === '.' || name.includes('..')) throw new CollectionNameError(name, 'it contains ".."');
  if (CONTROL.test(name)) throw new CollectionNameError(name, 'it contains a control character');
  if (name.trim() !== name) throw new CollectionNameError(name, 'it starts or ends with white space');
  if (!isWellFormed(name)) throw new CollectionNameError(name, 'it contains an unpaired UTF-16 surrogate');
  return name;
}
