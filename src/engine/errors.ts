/**
 * The engine's one error hierarchy. Every error carries a stable `code` (for programs) and a
 * message that says what happened and what to do (for people). No error message ever contains
 * a secret such as an API key.
 */
export class WiseJSONError extends Error {
  /** A stable, machine-readable code, e.g. `UNIQUE_CONSTRAINT`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * WiseJSON's name for errors of configuration, options or API use: every `ValidationError` (a bad
 * option, argument, query or document) and `SyncConfigError` is one, so code written for
 * WiseJSON that catches `ConfigurationError` keeps working. Not thrown itself.
 */
export abstract class ConfigurationError extends WiseJSONError {}

/** A document violates a unique index. Nothing was written. */
export class UniqueConstraintError extends WiseJSONError {
  readonly fieldName: string;
  readonly value: unknown;
  readonly collection: string;
  constructor(collection: string, fieldName: string, value: unknown) {
    super(
      'UNIQUE_CONSTRAINT',
      `Collection "${collection}": another document already has ${fieldName} = ${safeJson(value)} and the index on "${fieldName}" is unique. Nothing was written; use a different value or update the existing document.`,
    );
    this.collection = collection;
    this.fieldName = fieldName;
    this.value = value;
  }
}

/** Input that is not acceptable: a non-object document, a bad query operator, a bad option. */
export class ValidationError extends ConfigurationError {
  constructor(message: string, code = 'VALIDATION') {
    super(code, message);
  }
}

/** A collection name that could escape the database folder or is otherwise unusable. */
export class CollectionNameError extends ValidationError {
  readonly collectionName: string;
  constructor(name: unknown, why: string) {
    super(
      `Invalid collection name ${safeJson(name)}: ${why}. Use 1-128 characters without path separators, "..", or control characters.`,
      'INVALID_COLLECTION_NAME',
    );
    this.collectionName = String(name);
  }
}

/** `createIndex` over an index of the other type (standard vs unique). Nothing was changed. */
export class IndexConflictError extends ValidationError {
  readonly fieldName: string;
  constructor(collection: string, fieldName: string, existing: 'standard' | 'unique') {
    const wanted = existing === 'unique' ? 'standard' : 'unique';
    super(
      `Collection "${collection}" already has a ${existing} index on "${fieldName}"; a ${wanted} one cannot replace it in place. Drop it first (collection.dropIndex(${JSON.stringify(fieldName)}), or Drop Index in VS Code), then create the ${wanted} index.`,
      'INDEX_CONFLICT',
    );
    this.fieldName = fieldName;
  }
}

/** An operation on a document that does not exist, where existence is required. */
export class DocumentNotFoundError extends WiseJSONError {
  readonly collection: string;
  readonly id: string;
  constructor(collection: string, id: string) {
    super('DOCUMENT_NOT_FOUND', `Collection "${collection}" has no document with _id ${safeJson(id)}.`);
    this.collection = collection;
    this.id = id;
  }
}

/** The log or a checkpoint is damaged somewhere other than a torn tail. */
export class CorruptionError extends WiseJSONError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, detail: string) {
    super(
      'CORRUPTION',
      `Database file ${file} is damaged at byte offset ${offset} (${detail}). Nothing after that point was loaded. Restore the folder from a backup, or open it with { recoverCorruptLog: 'truncate' } to keep everything before the damage and move the rest aside.`,
    );
    this.file = file;
    this.offset = offset;
  }
}

/** A write to a database opened with `readOnly: true`. Nothing was written. */
export class ReadOnlyError extends WiseJSONError {
  constructor(dbPath: string) {
    super('READ_ONLY', `Database ${dbPath} is open read-only: nothing was written. Open it without { readOnly: true } (in VS Code: trust the workspace) to change it.`);
  }
}

/** The database or collection was used after `close()` or before `init()`. */
export class DatabaseClosedError extends WiseJSONError {
  constructor(what: string) {
    super('DATABASE_CLOSED', `${what} is closed (or was never initialised). Call "await db.init()" first, and do not use it after "db.close()".`);
  }
}

/** A transaction was used after commit/rollback, or failed to commit. */
export class TransactionError extends WiseJSONError {
  constructor(message: string, code = 'TRANSACTION') {
    super(code, message);
  }
}

/** A sync setting that cannot work (no URL or key, a bad URL or dataset, two servers for one collection). */
export class SyncConfigError extends ConfigurationError {
  constructor(message: string) {
    super('SYNC_CONFIG', message);
  }
}

/** A durable write failed at the file-system level (disk full, I/O error). */
export class StorageError extends WiseJSONError {
  constructor(message: string, cause?: unknown) {
    super('STORAGE', message, { cause });
  }
}

/** The database folder is held by another process in a way that cannot be shared. */
export class LockError extends WiseJSONError {
  constructor(message: string, cause?: unknown) {
    super('LOCK', message, { cause });
  }
}

/** A WiseJSON 6 file that cannot be read. Nothing was upgraded or written. */
export class Wisejson6DataError extends WiseJSONError {
  readonly file: string;
  constructor(file: string, detail: string) {
    super(
      'WISEJSON6_DAMAGED',
      `WiseJSON 6 file ${file} cannot be read (${detail}). Nothing was upgraded and nothing was written: the old data is untouched. Restore the file from a backup, or open the database with { recoverCorruptLog: 'truncate' } to upgrade without it (the documents it held are skipped and counted in the 'upgraded' event).`,
    );
    this.file = file;
  }
}

/** A read-only open of a folder that holds WiseJSON 6 data: it cannot be upgraded without writing. */
export class UpgradeNeededError extends WiseJSONError {
  constructor(dbPath: string) {
    super(
      'UPGRADE_NEEDED',
      `${dbPath} holds a WiseJSON 6 database, which is upgraded once when it is opened for writing; a read-only open writes nothing, so it cannot. Open it without { readOnly: true } (in VS Code: trust the workspace) to upgrade it; the old files are kept in a backup folder inside it.`,
    );
  }
}

export function safeJson(value: unknown): string {
  try {
    const s = JSON.stringify(value);
    if (s === undefined) return String(value);
    return s.length > 200 ? s.slice(0, 197) + '...' : s;
  } catch {
    return String(value);
  }
}
