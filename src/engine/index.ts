/** The engine's public API, for TypeScript importers inside this repository. */
import { WiseJSON } from './database';
import { WiseJSONOptions } from './options';

export { WiseJSON } from './database';
export type { DatabaseMeta } from './database';
export { Collection } from './collection';
export type { FindOptions, PageOptions, Page, UpdateResult, DeleteResult, IndexInfo, CollectionStats } from './collection';
export { Transaction, TransactionCollection } from './transaction';
export type { WiseJSONOptions } from './options';
export type { Doc } from './document';
export type { EnableSyncOptions, SyncStatus, SyncErrorEvent } from '../sync/sync-manager';
export type { SyncApiClient } from '../sync/api-client';
export {
  WiseJSONError, UniqueConstraintError, ValidationError, CollectionNameError, DocumentNotFoundError,
  CorruptionError, DatabaseClosedError, TransactionError, StorageError, LockError, SyncConfigError, ReadOnlyError,
} from './errors';

/** Opens (creating if needed) the database at `dbPath`; resolves once it is ready. */
export async function connect(dbPath: string, options?: WiseJSONOptions): Promise<WiseJSON> {
  const db = new WiseJSON(dbPath, options);
  await db.init();
  return db;
}
