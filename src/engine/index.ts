/** The engine's public API, for TypeScript importers inside this repository. */
import { WiseJSON } from './database';
import { WiseJSONOptions } from './options';

export { WiseJSON } from './database';
export type { DatabaseMeta } from './database';
export { Collection } from './collection';
export type { FindOptions, PageOptions, Page, QueryExplain, UpdateResult, DeleteResult, IndexInfo, CollectionStats } from './collection';
export { Transaction, TransactionCollection } from './transaction';
export type { WiseJSONOptions } from './options';
export type { UpgradeReport } from './upgrade/wisejson6-upgrade';
export type { Doc } from './document';
export type { EnableSyncOptions, SyncStatus, SyncErrorEvent } from '../sync/sync-manager';
export type { SyncApiClient } from '../sync/api-client';
export {
  WiseJSONError, UniqueConstraintError, ValidationError, CollectionNameError, DocumentNotFoundError,
  CorruptionError, DatabaseClosedError, TransactionError, StorageError, LockError, SyncConfigError, ReadOnlyError,
  ConfigurationError, IndexConflictError, Wisejson6DataError, UpgradeNeededError,
} from './errors';
export { SyncManager } from '../sync/sync-manager';
/** WiseJSON's name for the HTTP sync client: `new apiClient(baseUrl, apiKey)`, for `enableSync({ apiClient })`. */
export { HttpSyncApiClient as apiClient } from '../sync/api-client';

/**
 * The database at `dbPath`, returned at once (as in WiseJSON): it opens (creating the folder if
 * needed) on first use, or on `await db.init()`. `await connect(...)` works too: it is the same
 * database, not yet opened.
 */
export function connect(dbPath: string, options?: WiseJSONOptions): WiseJSON {
  return new WiseJSON(dbPath, options);
}
