/**
 * The PostgreSQL store (`--database-url`): every dataset, its epochs and proof key, versions,
 * document rows with their merge metadata, horizon, replicas' lastSeq and key bindings live in
 * PostgreSQL; nothing grows in memory with the data.
 *
 * Tables (created and upgraded by the numbered migrations below, under an advisory lock):
 *   wj_schema       (version)                                  the schema version, one row
 *   wj_datasets     (name, epoch, head, horizon, epoch_start, secret, max_hlc)
 *   wj_docs         (dataset, key, coll, v, del, del_at, id, body, fs, hlc, origin, oseq, sole)
 *                   latest state of every document (tombstones too); `id`, `body` and `fs` are
 *                   JSON text, so documents keep their exact text and any string the protocol
 *                   allows, and a pulled change is written out without parsing its body
 *   wj_collections  (dataset, coll, head, rows)                discovery in O(collections)
 *   wj_replicas     (dataset, replica_id, last_seq, last_seen_at)
 *   wj_bindings     (replica_id, key_hash, bound_at)           replica → key (global)
 *   wj_api_keys     (id, sha256, datasets, created_at)         `keys create` (hashes only)
 *
 * A push is one transaction that locks the dataset's row (SELECT … FOR UPDATE), dedupes by the
 * replica's lastSeq inside it, assigns dense versions in commit order and commits before the
 * response. A pull is an index range read (v > since ORDER BY v LIMIT n) up to the head read
 * just before it. Nothing that matters is held by the instance, so any number of instances can
 * serve one database: a commit that moves a dataset's head or epoch notifies every instance
 * (LISTEN/NOTIFY, ./postgres-listener.ts), which wakes its long-polls; the tombstone purge runs
 * on one instance at a time (an advisory lock); the server's HLC follows the dataset's highest
 * stamp inside each push.
 */
import { Pool, type PoolClient, types as pgTypes } from 'pg';
import { HybridLogicalClock } from '../../sync/hlc';
import { ChangesQuery, CONFLICTS_COLLECTION, PushRequest, PushResponse } from '../../sync/protocol';
import { newStoredKey, type StoredKey } from '../auth';
import { SyncServerError } from '../errors';
import { DocRow, rowKey, SERVER_ORIGIN } from '../merge';
import {
  changesPageBody, EpochState, mergePush, newEpoch, newSecret, pullCheckpointCheck, pushCheckpointCheck, replicaNotOwned, restoredAtPull, restoredAtPush,
} from './common';
import { CHANGE_CHANNEL, ChangeListener } from './postgres-listener';
import type { StoreOptions } from './storage';
import type { ChangesPage, DatasetCollections, DatasetHandle, SyncStorage } from './storage';

export interface PostgresStoreOptions extends StoreOptions {
  /** `postgres://user:password@host:port/database` (the password is never printed). */
  url: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Each statement's limit, ms (PostgreSQL's statement_timeout). Default 30 000. */
  statementTimeoutMs?: number;
}

/** The schema this server writes, by migration. A database at a higher version is refused. */
const MIGRATIONS: readonly string[][] = [
  // 1
  [
    `CREATE TABLE wj_datasets (
      name text PRIMARY KEY,
      epoch text NOT NULL,
      head bigint NOT NULL,
      horizon bigint NOT NULL,
      epoch_start bigint,
      secret text NOT NULL,
      max_hlc text
    )`,
    `CREATE TABLE wj_docs (
      dataset text NOT NULL REFERENCES wj_datasets (name),
      key text NOT NULL,
      coll text NOT NULL,
      v bigint NOT NULL,
      del boolean NOT NULL,
      del_at bigint,
      id text NOT NULL,
      body text,
      fs text,
      hlc text NOT NULL,
      origin text NOT NULL,
      oseq bigint NOT NULL,
      PRIMARY KEY (dataset, key)
    )`,
    'CREATE UNIQUE INDEX wj_docs_by_version ON wj_docs (dataset, v)',
    'CREATE INDEX wj_docs_tombstones ON wj_docs (dataset, del_at) WHERE del',
    `CREATE TABLE wj_collections (
      dataset text NOT NULL REFERENCES wj_datasets (name),
      coll text NOT NULL,
      head bigint NOT NULL,
      rows bigint NOT NULL,
      PRIMARY KEY (dataset, coll)
    )`,
    `CREATE TABLE wj_replicas (
      dataset text NOT NULL REFERENCES wj_datasets (name),
      replica_id text NOT NULL,
      last_seq bigint NOT NULL,
      last_seen_at bigint NOT NULL,
      PRIMARY KEY (dataset, replica_id)
    )`,
    `CREATE TABLE wj_bindings (
      replica_id text PRIMARY KEY,
      key_hash text NOT NULL,
      bound_at bigint NOT NULL
    )`,
  ],
  // 2: API keys created with `keys create --database-url` (hashes only)
  [
    `CREATE TABLE wj_api_keys (
      id text PRIMARY KEY,
      sha256 text NOT NULL UNIQUE,
      datasets text NOT NULL,
      created_at text NOT NULL
    )`,
  ],
  // 3: rows whose state is exactly what their origin wrote (own changes, sent to it without body)
  ['ALTER TABLE wj_docs ADD COLUMN sole boolean NOT NULL DEFAULT false'],
  // 4: a commit that moves a dataset's head or epoch notifies every listening instance
  [
    `CREATE FUNCTION wj_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       PERFORM pg_notify('${CHANGE_CHANNEL}', NEW.name);
       RETURN NULL;
     END
     $$`,
    `CREATE TRIGGER wj_datasets_changed AFTER UPDATE OF head, epoch ON wj_datasets FOR EACH ROW
     WHEN (OLD.head IS DISTINCT FROM NEW.head OR OLD.epoch IS DISTINCT FROM NEW.epoch)
     EXECUTE FUNCTION wj_notify_change()`,
  ],
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The advisory lock that serializes schema migrations of every server on one database. */
const MIGRATION_LOCK = 7_261_530_815;
/** How long `/v1/health` waits for PostgreSQL's answer. */
const HEALTH_TIMEOUT_MS = 2_000;

/** The advisory lock held by the one instance purging tombstones. */
const PURGE_LOCK = 7_261_530_816;

/** bigint columns as numbers (versions and times stay far below 2^53). */
const parseTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === pgTypes.builtins.INT8 ? (v: string) => Number(v) : pgTypes.getTypeParser(oid, format as 'text'))) as typeof pgTypes.getTypeParser,
};

/** The database at start could not be used: one line naming what to fix (never the password). */
export class DatabaseConfigError extends Error {
  readonly code = 'invalid_database';
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseConfigError';
  }
}

/** `user@host:port/database` of a URL: what error messages may show of it. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return '(an unreadable URL)';
  }
}

/** Checks the form of a database URL; throws DatabaseConfigError naming what is wrong. */
export function checkDatabaseUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DatabaseConfigError('The database URL is not a URL: use postgres://user:password@host:5432/database.');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new DatabaseConfigError(`The database URL must start with postgres:// (it starts with ${u.protocol}//).`);
  }
  if (!u.pathname || u.pathname === '/') throw new DatabaseConfigError(`The database URL names no database: add it after the host, e.g. postgres://${describeDatabaseUrl(url)}/wisejson.`);
}

/** A start-up failure of the connection, as one line that says what to fix. */
function startError(err: unknown, url: string): Error {
  const where = describeDatabaseUrl(url);
  const u = new URL(url);
  const code = (err as { code?: unknown })?.code;
  if (err instanceof DatabaseConfigError) return err;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') {
    return new DatabaseConfigError(`Cannot reach PostgreSQL at ${u.hostname}:${u.port || 5432} (${String(code)}): is it running, and are the host and port in the database URL right?`);
  }
  if (code === '28P01' || code === '28000') {
    return new DatabaseConfigError(`PostgreSQL refused the login of user "${decodeURIComponent(u.username)}" at ${u.hostname}:${u.port || 5432}: check the user and password in the database URL.`);
  }
  if (code === '3D000') {
    return new DatabaseConfigError(`The database "${decodeURIComponent(u.pathname.slice(1))}" does not exist at ${u.hostname}:${u.port || 5432}: create it (createdb, or CREATE DATABASE) or fix the database URL.`);
  }
  if (code === '42501') return new DatabaseConfigError(`The user of ${where} may not create the server's tables (${(err as Error).message}): grant it CREATE on the schema, or run the first start as the owner.`);
  const message = err instanceof Error ? err.message : 'unknown error';
  return new DatabaseConfigError(`PostgreSQL at ${where} failed at start: ${message}${typeof code === 'string' ? ` [${code}]` : ''}`);
}

/** Connection-level failures while serving: 503 with Retry-After (the request may be retried). */
function unavailable(err: unknown): unknown {
  const code = (err as { code?: unknown })?.code;
  const connection = typeof code === 'string' && (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'EPIPE');
  const closed = err instanceof Error && /Connection terminated|connection timeout|Client has encountered a connection error/i.test(err.message);
  if (connection || closed) return new SyncServerError(503, 'unavailable', 'The database is unavailable; retry later.', { headers: { 'Retry-After': '5' } });
  if (code === '57014') return new SyncServerError(503, 'unavailable', 'The database did not answer in time; retry later.', { headers: { 'Retry-After': '5' } });
  return err;
}

/** The columns of a stored row, as the merge needs them. */
const ROW_COLUMNS = 'key, coll, v, del, del_at, id, body, fs, hlc, origin, oseq, sole';

interface StoredRow {
  key: string;
  coll: string;
  v: number;
  del: boolean;
  del_at: number | null;
  id: string;
  body: string | null;
  fs: string | null;
  hlc: string;
  origin: string;
  oseq: number;
  sole: boolean;
}

function toDocRow(r: StoredRow): DocRow {
  const row: DocRow = {
    _id: r.key, coll: r.coll, id: JSON.parse(r.id) as string, v: r.v, del: r.del,
    body: r.body === null ? null : (JSON.parse(r.body) as DocRow['body']), fs: r.fs === null ? null : (JSON.parse(r.fs) as DocRow['fs']),
    hlc: r.hlc, origin: r.origin, oseq: r.oseq, delAt: r.del_at,
  };
  if (r.sole) row.sole = true;
  return row;
}

/**
 * A row of wj_docs as the JSON of its change, in SQL: the same as JSON.stringify(toChange(row,
 * replica)) with the pulling replica as $7 (`id` and `body` are stored as JSON text; coll, hlc and
 * origin are plain protocol strings).
 */
const CHANGE_JSON = `'{"v":' || v || ',"coll":' || to_json(coll)::text || ',"id":' || id || ',' ||
  CASE WHEN sole AND NOT del AND origin = $7 THEN '"own":true}' ELSE
  CASE WHEN del THEN '"deleted":true,' ELSE '"doc":' || COALESCE(body, '{"_id":' || id || '}') || ',' END ||
  '"hlc":' || to_json(hlc)::text || ',"origin":' || to_json(origin)::text || ',"originSeq":' || oseq || '}' END`;

class PgDataset implements DatasetHandle {
  constructor(readonly name: string, public epoch: string) {}
}

interface MetaRow {
  epoch: string;
  head: number;
  horizon: number;
  epoch_start: number | null;
  secret: string;
  max_hlc: string | null;
}

type Queryable = Pick<PoolClient, 'query'>;

export class PostgresStore implements SyncStorage<PgDataset> {
  readonly failed = null;
  private readonly handles = new Map<string, PgDataset>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private clock: HybridLogicalClock;
  private closed = false;
  private readonly listener: ChangeListener;

  private constructor(private readonly pool: Pool, private readonly opts: PostgresStoreOptions) {
    this.clock = new HybridLogicalClock(SERVER_ORIGIN, { now: opts.now });
    this.listener = new ChangeListener(opts.url, (name) => this.notify(name), () => this.wakeAll());
  }

  /**
   * Connects, creates or upgrades the schema, and reads where the server's clock stands.
   * @throws DatabaseConfigError naming what to fix (unreachable, login refused, no database,
   *   a schema newer than this server).
   */
  static async open(opts: PostgresStoreOptions): Promise<PostgresStore> {
    checkDatabaseUrl(opts.url);
    const pool = new Pool({
      connectionString: opts.url,
      max: opts.poolSize ?? 10,
      statement_timeout: opts.statementTimeoutMs ?? 30_000,
      connectionTimeoutMillis: 10_000,
      application_name: 'wisejson-sync',
      types: parseTypes,
    });
    // An idle client's error (the server went away) must not crash the process.
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool, opts);
    try {
      await prepareSchema(pool);
      const r = await pool.query<{ hlc: string | null }>('SELECT max(max_hlc) AS hlc FROM wj_datasets');
      const last = r.rows[0]?.hlc ?? null;
      // Never issue a stamp below one already stored.
      if (last !== null) store.clock = new HybridLogicalClock(SERVER_ORIGIN, { now: opts.now, last });
      await store.listener.start();
    } catch (err) {
      await store.listener.close();
      await pool.end().catch(() => undefined);
      throw startError(err, opts.url);
    }
    return store;
  }

  private assertOpen(): void {
    if (this.closed) throw new SyncServerError(503, 'unavailable', 'The server is shutting down.', { headers: { 'Retry-After': '5' } });
  }

  /**
   * Runs `work` on a connection of the pool, answering connection failures 503. `work` calls
   * `broken()` when the connection must not go back to the pool.
   */
  private async withConnection<T>(work: (c: PoolClient, broken: () => void) => Promise<T>): Promise<T> {
    let c: PoolClient;
    try {
      c = await this.pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    let broken = false;
    try {
      return await work(c, () => {
        broken = true;
      });
    } catch (err) {
      throw unavailable(err);
    } finally {
      c.release(broken);
    }
  }

  /** Runs `work` in one transaction (READ COMMITTED): committed when it returns, rolled back when it throws. */
  private tx<T>(work: (c: PoolClient) => Promise<T>): Promise<T> {
    return this.withConnection(async (c, broken) => {
      try {
        await c.query('BEGIN');
        const out = await work(c);
        await c.query('COMMIT');
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch(broken);
        throw err;
      }
    });
  }

  private async query<R extends object>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (err) {
      throw unavailable(err);
    }
  }

  private async meta(q: Queryable, name: string, forUpdate: boolean): Promise<EpochState> {
    const r = await q.query<MetaRow>(`SELECT epoch, head, horizon, epoch_start, secret, max_hlc FROM wj_datasets WHERE name = $1${forUpdate ? ' FOR UPDATE' : ''}`, [name]);
    const m = r.rows[0];
    if (!m) throw new SyncServerError(404, 'dataset_not_found', 'No such dataset.');
    // Holding the dataset's row, this instance's stamps go on from the highest any instance stored.
    if (forUpdate && m.max_hlc) this.clock.receive(m.max_hlc);
    const state = { name, epoch: m.epoch, head: m.head, horizon: m.horizon, epochStart: m.epoch_start, secret: Buffer.from(m.secret, 'hex') };
    const handle = this.handles.get(name);
    if (handle) handle.epoch = state.epoch;
    return state;
  }

  private handle(name: string, epoch: string): PgDataset {
    let h = this.handles.get(name);
    if (!h) this.handles.set(name, (h = new PgDataset(name, epoch)));
    h.epoch = epoch;
    return h;
  }

  async dataset(name: string): Promise<PgDataset> {
    this.assertOpen();
    const known = await this.existing(name);
    if (known) return known;
    await this.query('INSERT INTO wj_datasets (name, epoch, head, horizon, epoch_start, secret) VALUES ($1, $2, 0, 0, 0, $3) ON CONFLICT (name) DO NOTHING', [name, newEpoch(), newSecret()]);
    const made = await this.existing(name);
    if (!made) throw new Error(`dataset ${name} vanished right after it was created`);
    return made;
  }

  async existing(name: string): Promise<PgDataset | undefined> {
    const rows = await this.query<{ epoch: string }>('SELECT epoch FROM wj_datasets WHERE name = $1', [name]);
    return rows[0] ? this.handle(name, rows[0].epoch) : undefined;
  }

  // ---------------------------------------------------------------------------------------
  // Push

  async push(ds: PgDataset, req: PushRequest, keyHash: string): Promise<PushResponse> {
    this.assertOpen();
    const outcome = await this.tx<{ restored: EpochState } | { response: PushResponse }>(async (c) => {
      const meta = await this.meta(c, ds.name, true);
      const bound = (await c.query<{ key_hash: string }>('SELECT key_hash FROM wj_bindings WHERE replica_id = $1', [req.replicaId])).rows[0]?.key_hash;
      if (bound !== undefined && bound !== keyHash) throw replicaNotOwned();
      const rotateAt = pushCheckpointCheck(meta, req);
      if (rotateAt !== null) {
        await this.rotate(c, meta, rotateAt);
        return { restored: meta };
      }
      const now = this.opts.now();
      const stored = (await c.query<{ last_seq: number }>('SELECT last_seq FROM wj_replicas WHERE dataset = $1 AND replica_id = $2', [ds.name, req.replicaId])).rows[0]?.last_seq ?? 0;
      const keys = [...new Set(req.ops.filter((o) => o.seq > stored).map((o) => rowKey(o.coll, o.id)))];
      const current = new Map<string, DocRow>();
      if (keys.length > 0) {
        const r = await c.query<StoredRow>(`SELECT ${ROW_COLUMNS} FROM wj_docs WHERE dataset = $1 AND key = ANY($2::text[])`, [ds.name, keys]);
        for (const x of r.rows) current.set(x.key, toDocRow(x));
      }
      const merged = mergePush(req, { stored, head: meta.head, horizon: meta.horizon }, (key) => current.get(key), this.clock, this.opts.limits, now, this.opts.now);
      if (merged.running === stored) return { response: merged.response(meta.epoch) }; // only duplicates

      // Rows and conflict records, then the per-collection heads and counts.
      const written = [...merged.rows.values(), ...merged.conflicts];
      await writeRows(c, ds.name, written);
      const colls = new Map<string, { head: number; added: number }>();
      for (const r of written) {
        const e = colls.get(r.coll) ?? { head: 0, added: 0 };
        e.head = Math.max(e.head, r.v);
        if (!current.has(r._id)) e.added++;
        colls.set(r.coll, e);
      }
      await c.query(
        `INSERT INTO wj_collections (dataset, coll, head, rows)
         SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::bigint[])
         ON CONFLICT (dataset, coll) DO UPDATE SET head = GREATEST(wj_collections.head, EXCLUDED.head), rows = wj_collections.rows + EXCLUDED.rows`,
        [ds.name, [...colls.keys()], [...colls.values()].map((e) => e.head), [...colls.values()].map((e) => e.added)],
      );
      await c.query(
        `INSERT INTO wj_replicas (dataset, replica_id, last_seq, last_seen_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (dataset, replica_id) DO UPDATE SET last_seq = EXCLUDED.last_seq, last_seen_at = EXCLUDED.last_seen_at`,
        [ds.name, req.replicaId, merged.running, now],
      );
      if (bound === undefined) {
        // A concurrent first push of the same replica (another dataset) waits on the key, then sees it.
        const ins = await c.query('INSERT INTO wj_bindings (replica_id, key_hash, bound_at) VALUES ($1, $2, $3) ON CONFLICT (replica_id) DO NOTHING', [req.replicaId, keyHash, now]);
        if (ins.rowCount === 0) {
          const again = (await c.query<{ key_hash: string }>('SELECT key_hash FROM wj_bindings WHERE replica_id = $1', [req.replicaId])).rows[0]?.key_hash;
          if (again !== keyHash) throw replicaNotOwned();
        }
      }
      await c.query('UPDATE wj_datasets SET head = $2, max_hlc = GREATEST(COALESCE(max_hlc, \'\'), $3) WHERE name = $1', [ds.name, merged.head, merged.highestHlc ?? '']);
      return { response: merged.response(meta.epoch) };
    });
    if ('restored' in outcome) {
      this.changed(ds.name);
      throw restoredAtPush(outcome.restored);
    }
    this.changed(ds.name);
    return outcome.response;
  }

  /** A new epoch beginning at the head, unless `seen` is no longer ahead of it. `meta` is updated. */
  private async rotate(c: PoolClient, meta: EpochState, seen: number): Promise<void> {
    if (seen <= meta.head) return;
    meta.epoch = newEpoch();
    meta.epochStart = meta.head;
    await c.query('UPDATE wj_datasets SET epoch = $2, epoch_start = $3 WHERE name = $1', [meta.name, meta.epoch, meta.epochStart]);
    const h = this.handles.get(meta.name);
    if (h) h.epoch = meta.epoch;
  }

  // ---------------------------------------------------------------------------------------
  // Pull

  async changesPage(ds: PgDataset, q: ChangesQuery, allowEmpty: boolean): Promise<ChangesPage | null> {
    let meta = await this.meta(this.pool, ds.name, false).catch((err: unknown) => Promise.reject(unavailable(err)));
    const rotateAt = pullCheckpointCheck(meta, q);
    if (rotateAt !== null) {
      meta = await this.tx(async (c) => {
        const m = await this.meta(c, ds.name, true);
        await this.rotate(c, m, rotateAt);
        return m;
      });
      this.changed(ds.name);
      throw restoredAtPull(meta);
    }
    const from = q.since ? q.since.v : 0;
    const limits = this.opts.limits;
    const limit = Math.min(q.limit ?? limits.maxPullLimit, limits.maxPullLimit);
    const maxBytes = Math.min(q.maxBytes ?? limits.maxPullBytes, limits.maxPullBytes);
    const colls = q.colls ? [...new Set([...q.colls, CONFLICTS_COLLECTION])] : null;
    // Up to the head read above: rows of a push committed meanwhile come with the next page.
    // PostgreSQL writes the page's changes out as one JSON text (see CHANGE_JSON), cut at the
    // page's limits (the first change always goes): no row objects or strings per change here.
    // One row more than the limit is read to know whether more follow.
    const [page] = await this.query<{ n: number; fetched: number; last_v: number | null; changes: string | null }>(
      `WITH page AS (
         SELECT v, ${CHANGE_JSON} AS change FROM wj_docs
         WHERE dataset = $1 AND v > $2 AND v <= $3${colls ? ' AND coll = ANY($8::text[])' : ''} ORDER BY v LIMIT $4
       ), sized AS (
         SELECT v, change, row_number() OVER (ORDER BY v) AS n, sum(octet_length(change) + 1) OVER (ORDER BY v) AS upto FROM page
       )
       SELECT count(*)::int AS n, (SELECT count(*)::int FROM page) AS fetched, max(v) AS last_v, string_agg(change, ',' ORDER BY v) AS changes
       FROM sized WHERE n <= $6 AND (n = 1 OR upto <= $5)`,
      [ds.name, from, meta.head, limit + 1, maxBytes, limit, q.replica ?? null, ...(colls ? [colls] : [])],
    );
    const count = page.n;
    const hasMore = page.fetched > count;
    const lastV = count === 0 ? from : page.last_v!;
    const parts = count === 0 ? [] : [page.changes!];
    if (count === 0 && !hasMore && !allowEmpty) return null;
    const body = changesPageBody(meta, this.opts.now(), parts, hasMore ? lastV : Math.max(meta.head, from), hasMore);
    return { body, changes: count, hasMore };
  }

  waitForChange(ds: PgDataset, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(ds.name);
      if (!set) this.waiters.set(ds.name, (set = new Set()));
      const waiting = set;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        waiting.delete(finish);
        if (waiting.size === 0 && this.waiters.get(ds.name) === waiting) this.waiters.delete(ds.name);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, ms));
      waiting.add(finish);
      signal?.addEventListener('abort', finish);
      if (signal?.aborted || this.closed) finish();
    });
  }

  /** Wakes this instance's long-polls of a dataset. */
  private notify(name: string): void {
    for (const w of [...(this.waiters.get(name) ?? [])]) w();
  }

  /**
   * After a commit of this instance moved the dataset: its notification wakes the long-polls of
   * every instance, this one included; while the listener is reconnecting, this one's are woken here.
   */
  private changed(name: string): void {
    if (!this.listener.listening) this.notify(name);
  }

  async collections(ds: PgDataset): Promise<DatasetCollections> {
    const [meta] = await this.query<{ epoch: string; head: number }>('SELECT epoch, head FROM wj_datasets WHERE name = $1', [ds.name]);
    const list = await this.query<{ coll: string; head: number }>('SELECT coll, head FROM wj_collections WHERE dataset = $1 AND rows > 0', [ds.name]);
    return {
      epoch: meta.epoch,
      head: meta.head,
      collections: list.map((r) => ({ name: r.coll, head: r.head })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    };
  }

  // ---------------------------------------------------------------------------------------
  // Tombstone purge

  /** Purges expired tombstones, unless another instance is doing so (then 0). */
  async purge(): Promise<number> {
    if (this.closed) return 0;
    return this.withConnection(async (c, broken) => {
      const locked = (await c.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [PURGE_LOCK])).rows[0].locked;
      if (!locked) return 0;
      try {
        return await this.purgeNow();
      } finally {
        // (A session lock goes with its connection: one that cannot unlock is not reused.)
        await c.query('SELECT pg_advisory_unlock($1)', [PURGE_LOCK]).catch(broken);
      }
    });
  }

  private async purgeNow(): Promise<number> {
    const cutoff = Math.floor(this.opts.now() - this.opts.limits.tombstoneRetentionDays * 86_400_000);
    let total = 0;
    for (const { name } of await this.query<{ name: string }>('SELECT name FROM wj_datasets ORDER BY name', [])) {
      total += await this.tx(async (c) => {
        const meta = await this.meta(c, name, true);
        const gone = (await c.query<{ v: number; coll: string }>('DELETE FROM wj_docs WHERE dataset = $1 AND del AND del_at <= $2 RETURNING v, coll', [name, cutoff])).rows;
        if (gone.length === 0) return 0;
        const horizon = Math.max(meta.horizon, ...gone.map((g) => g.v));
        await c.query('UPDATE wj_datasets SET horizon = $2 WHERE name = $1', [name, horizon]);
        const per = new Map<string, number>();
        for (const g of gone) per.set(g.coll, (per.get(g.coll) ?? 0) + 1);
        await c.query(
          `UPDATE wj_collections SET rows = wj_collections.rows - x.n
           FROM unnest($2::text[], $3::bigint[]) AS x(coll, n)
           WHERE wj_collections.dataset = $1 AND wj_collections.coll = x.coll`,
          [name, [...per.keys()], [...per.values()]],
        );
        await c.query('DELETE FROM wj_collections WHERE dataset = $1 AND rows <= 0', [name]);
        return gone.length;
      });
    }
    return total;
  }

  // ---------------------------------------------------------------------------------------

  /** A round trip to PostgreSQL, bounded by HEALTH_TIMEOUT_MS: 503 with Retry-After when it fails. */
  async health(): Promise<void> {
    this.assertOpen();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SyncServerError(503, 'unavailable', 'The database did not answer in time; retry later.', { headers: { 'Retry-After': '5' } })), HEALTH_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.query('SELECT 1', []), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  wakeAll(): void {
    for (const name of [...this.waiters.keys()]) this.notify(name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.listener.close();
    this.wakeAll();
    await this.pool.end();
  }
}

/**
 * The stored API keys of a database (`keys create/list/revoke --database-url`, and the server,
 * which reads them every couple of seconds). Only SHA-256 hashes are stored.
 */
export class PostgresKeys {
  private constructor(private readonly pool: Pool) {}

  /** Connects and brings the schema up to date. @throws DatabaseConfigError as PostgresStore.open. */
  static async open(url: string): Promise<PostgresKeys> {
    checkDatabaseUrl(url);
    const pool = new Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000, application_name: 'wisejson-sync-keys' });
    pool.on('error', () => undefined);
    try {
      await prepareSchema(pool);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw startError(err, url);
    }
    return new PostgresKeys(pool);
  }

  async list(): Promise<StoredKey[]> {
    const r = await this.pool.query<{ id: string; sha256: string; datasets: string; created_at: string }>('SELECT id, sha256, datasets, created_at FROM wj_api_keys ORDER BY created_at, id');
    return r.rows.map((k) => ({ id: k.id, sha256: k.sha256, datasets: JSON.parse(k.datasets) as StoredKey['datasets'], createdAt: k.created_at }));
  }

  /** Creates a key for `datasets` (`["*"]` = all); returns it (shown once: only its hash is stored). */
  async create(datasets: string[]): Promise<{ key: string; id: string }> {
    const { key, stored } = newStoredKey(datasets);
    await this.pool.query('INSERT INTO wj_api_keys (id, sha256, datasets, created_at) VALUES ($1, $2, $3, $4)', [stored.id, stored.sha256, JSON.stringify(stored.datasets), stored.createdAt]);
    return { key, id: stored.id };
  }

  async revoke(id: string): Promise<boolean> {
    return ((await this.pool.query('DELETE FROM wj_api_keys WHERE id = $1', [id])).rowCount ?? 0) > 0;
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** Writes document rows of a dataset (new or replacing), with `id`, `body` and `fs` as JSON text. */
export async function writeRows(q: Queryable, dataset: string, rows: DocRow[]): Promise<void> {
  await q.query(
    `INSERT INTO wj_docs (dataset, key, coll, v, del, del_at, id, body, fs, hlc, origin, oseq, sole)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::boolean[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::boolean[])
     ON CONFLICT (dataset, key) DO UPDATE SET coll = EXCLUDED.coll, v = EXCLUDED.v, del = EXCLUDED.del, del_at = EXCLUDED.del_at,
       id = EXCLUDED.id, body = EXCLUDED.body, fs = EXCLUDED.fs, hlc = EXCLUDED.hlc, origin = EXCLUDED.origin, oseq = EXCLUDED.oseq, sole = EXCLUDED.sole`,
    [
      dataset, rows.map((r) => r._id), rows.map((r) => r.coll), rows.map((r) => r.v), rows.map((r) => r.del), rows.map((r) => r.delAt ?? null),
      rows.map((r) => JSON.stringify(r.id)), rows.map((r) => (r.body === null ? null : JSON.stringify(r.body))), rows.map((r) => (r.fs === null ? null : JSON.stringify(r.fs))),
      rows.map((r) => r.hlc), rows.map((r) => r.origin), rows.map((r) => r.oseq), rows.map((r) => r.sole === true),
    ],
  );
}

/** Creates or upgrades the schema under an advisory lock; refuses a schema newer than this server's. */
export async function prepareSchema(pool: Pool): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await c.query('CREATE TABLE IF NOT EXISTS wj_schema (version integer NOT NULL)');
      const r = await c.query<{ version: number }>('SELECT version FROM wj_schema');
      let version = r.rows[0]?.version ?? 0;
      if (version > SCHEMA_VERSION) {
        throw new DatabaseConfigError(`The database's WiseJSON schema is version ${version}, newer than this server knows (${SCHEMA_VERSION}): run a newer server.`);
      }
      if (r.rows.length === 0) await c.query('INSERT INTO wj_schema (version) VALUES (0)');
      while (version < SCHEMA_VERSION) {
        await c.query('BEGIN');
        try {
          for (const sql of MIGRATIONS[version]) await c.query(sql);
          version++;
          await c.query('UPDATE wj_schema SET version = $1', [version]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    c.release();
  }
}

