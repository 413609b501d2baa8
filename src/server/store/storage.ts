/**
 * Where the sync server keeps its data. The HTTP layer (../index.ts), auth and merge know only
 * this interface; the embedded store (./embedded.ts, the project's own engine in a data folder,
 * the default) implements it.
 *
 * Every implementation keeps the promises of docs/sync-protocol.md: a push is committed (durably)
 * before its response, versions are dense and in commit order per dataset, a replica's ops are
 * applied once (deduplicated by its lastSeq), checkpoints carry the server's proof, and a proven
 * checkpoint ahead of the head starts a new epoch.
 */
import type { ChangesQuery, Limits, PushRequest, PushResponse } from '../../sync/protocol';

/** What every store is opened with: the server's limits and its clock. */
export interface StoreOptions {
  limits: Limits;
  now: () => number;
}

/** A dataset as the HTTP layer holds it during a request. */
export interface DatasetHandle {
  readonly name: string;
  /** The dataset's current epoch (the `epoch` member of problem responses). */
  readonly epoch: string;
}

/** One page of `GET /changes`, serialized. */
export interface ChangesPage {
  /** The serialized response body. */
  body: string;
  changes: number;
  hasMore: boolean;
}

/** `GET /collections`: the dataset's collections with the highest version of each. */
export interface DatasetCollections {
  epoch: string;
  head: number;
  collections: { name: string; head: number }[];
}

/**
 * The server's storage. `D` is the implementation's own dataset handle: handles given back to a
 * store are always ones it returned.
 */
export interface SyncStorage<D extends DatasetHandle = DatasetHandle> {
  /** Set when the storage failed so that every write would fail until a restart. */
  readonly failed: Error | null;
  /**
   * Resolves when the storage can serve requests now (`/v1/health`); throws a 503
   * SyncServerError (with Retry-After when it should come back by itself) when it cannot.
   */
  health(): Promise<void>;
  /** The dataset, created (durably, with a new random epoch) on first use. */
  dataset(name: string): Promise<D>;
  /** The dataset if it exists (never creates it). */
  existing(name: string): Promise<D | undefined>;
  /** Applies a push in one transaction, committed before it resolves. */
  push(ds: D, req: PushRequest, keyHash: string): Promise<PushResponse>;
  /**
   * One page of changes after `q.since`, or null when it would be empty and the caller may
   * long-poll. Throws 409 (`epoch_mismatch`) for a cursor of another epoch, 410
   * (`checkpoint_expired`) for one older than the purge horizon, 400 (`invalid_checkpoint`) for
   * an unproven one ahead of the head.
   */
  changesPage(ds: D, q: ChangesQuery, allowEmpty: boolean): Promise<ChangesPage | null>;
  /** Resolves on the next commit to the dataset, after `ms`, or when `signal` aborts. */
  waitForChange(ds: D, ms: number, signal?: AbortSignal): Promise<void>;
  collections(ds: D): Promise<DatasetCollections>;
  /** Removes tombstones older than the retention, raising each dataset's horizon; returns how many. */
  purge(): Promise<number>;
  /** Wakes every long-poll (shutdown). */
  wakeAll(): void;
  /** Waits for queued writes, then closes. */
  close(): Promise<void>;
}
