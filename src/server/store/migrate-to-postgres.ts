/**
 * `node dist/server.js migrate --data <dir> --database-url <url>`: copies a data folder's store
 * into an empty PostgreSQL database, so that its clients go on against PostgreSQL without a
 * re-sync and without an epoch change: datasets with their epochs, proof keys, heads, horizons and
 * epoch starts; every document row with its version, per-field stamps and origin, tombstones with
 * their deletion times; replicas' lastSeq; key bindings; the stored keys (keys.json).
 *
 * The folder is locked as a server locks it (a running server refuses the migration, and no
 * server starts on it meanwhile) and read without writing. Everything is written in one
 * PostgreSQL transaction, so a crash half-way leaves the target as empty as it was.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Pool } from 'pg';
import { WiseJSON } from '../../engine';
import { readStoredKeys } from '../auth';
import { DataDirLockError, lockDataDir } from '../lock';
import type { DocRow } from '../merge';
import { BINDINGS, DATASETS, datasetCollections, type DatasetMetaRow, type ReplicaRow } from './embedded';
import { newSecret } from './common';
import { checkDatabaseUrl, DatabaseConfigError, describeDatabaseUrl, prepareSchema, writeRows } from './postgres';

/** Why a migration did not run; the message says what to do. */
export class MigrateError extends Error {
  constructor(readonly code: 'data_dir_locked' | 'no_data' | 'target_not_empty', message: string) {
    super(message);
    this.name = 'MigrateError';
  }
}

export interface MigrateReport {
  datasets: number;
  rows: number;
  tombstones: number;
  replicas: number;
  bindings: number;
  keys: number;
  ms: number;
}

/** @internal Test hook: called at each step (the crash test kills the process there). */
export const migrateSteps: { onStep: ((step: string) => void) | null } = { onStep: null };

/** Rows per INSERT statement. */
const BATCH = 2_000;

export async function migrateToPostgres(dataDir: string, databaseUrl: string, progress: (line: string) => void = () => undefined): Promise<MigrateReport> {
  const t0 = Date.now();
  checkDatabaseUrl(databaseUrl);
  const dbDir = path.join(dataDir, 'db');
  if (!fs.existsSync(dbDir)) throw new MigrateError('no_data', `${dataDir} holds no sync server data (no db folder in it): check --data.`);
  let release: () => Promise<void>;
  try {
    release = await lockDataDir(dataDir);
  } catch (err) {
    if (err instanceof DataDirLockError) throw new MigrateError('data_dir_locked', `Cannot migrate while a server uses the folder: ${err.message}`);
    throw err;
  }
  const db = new WiseJSON(dbDir, { readOnly: true, ttlCleanupIntervalMs: 0, checkpointIntervalMs: 0 });
  const pool = new Pool({ connectionString: databaseUrl, max: 1, connectionTimeoutMillis: 10_000, application_name: 'wisejson-sync-migrate' });
  pool.on('error', () => undefined);
  try {
    await db.init();
    const names = new Set(await db.getCollectionNames());
    const rows = async <T>(name: string): Promise<T[]> => (names.has(name) ? ((await (await db.collection(name)).find({})) as unknown as T[]) : []);
    const datasets = await rows<DatasetMetaRow>(DATASETS);
    const bindings = await rows<{ _id: string; keyHash: string; boundAt?: number }>(BINDINGS);
    const keys = await readStoredKeys(dataDir);
    progress(`Read ${dataDir}: ${datasets.length} dataset(s), ${bindings.length} key binding(s), ${keys.length} stored key(s).`);

    try {
      await prepareSchema(pool);
    } catch (err) {
      if (err instanceof DatabaseConfigError) throw err;
      throw new DatabaseConfigError(`PostgreSQL at ${describeDatabaseUrl(databaseUrl)}: ${(err as Error).message}`);
    }
    const c = await pool.connect();
    const report: MigrateReport = { datasets: datasets.length, rows: 0, tombstones: 0, replicas: 0, bindings: bindings.length, keys: keys.length, ms: 0 };
    try {
      await c.query('BEGIN');
      // Nobody creates a dataset, binds a replica or stores a key while this runs.
      await c.query('LOCK TABLE wj_datasets, wj_bindings, wj_api_keys IN EXCLUSIVE MODE');
      const [held] = (await c.query<{ datasets: number; bindings: number; keys: number }>(
        'SELECT (SELECT count(*) FROM wj_datasets)::int AS datasets, (SELECT count(*) FROM wj_bindings)::int AS bindings, (SELECT count(*) FROM wj_api_keys)::int AS keys',
      )).rows;
      if (held.datasets + held.bindings + held.keys > 0) {
        throw new MigrateError('target_not_empty', `${describeDatabaseUrl(databaseUrl)} already holds sync data (${held.datasets} dataset(s), ${held.bindings} binding(s), ${held.keys} key(s)): migrate into an empty database (createdb a new one); nothing was changed.`);
      }
      step('checked');
      for (const meta of datasets) {
        const { docs, replicas } = datasetCollections(meta._id);
        const docRows = await rows<DocRow>(docs);
        const replicaRows = await rows<ReplicaRow>(replicas);
        let maxHlc: string | null = null;
        let head = meta.head;
        for (const r of docRows) {
          if (maxHlc === null || r.hlc > maxHlc) maxHlc = r.hlc;
          if (r.v > head) head = r.v;
        }
        await c.query('INSERT INTO wj_datasets (name, epoch, head, horizon, epoch_start, secret, max_hlc) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          meta._id, meta.epoch, head, meta.horizon, meta.epochStart ?? null, meta.secret ?? newSecret(), maxHlc,
        ]);
        for (let i = 0; i < docRows.length; i += BATCH) {
          await writeRows(c, meta._id, docRows.slice(i, i + BATCH));
          report.rows += Math.min(BATCH, docRows.length - i);
          step('rows');
          if (docRows.length > BATCH) progress(`${meta._id}: ${Math.min(i + BATCH, docRows.length)} of ${docRows.length} rows`);
        }
        report.tombstones += docRows.filter((r) => r.del).length;
        const colls = new Map<string, { head: number; rows: number }>();
        for (const r of docRows) {
          const e = colls.get(r.coll) ?? { head: 0, rows: 0 };
          e.head = Math.max(e.head, r.v);
          e.rows++;
          colls.set(r.coll, e);
        }
        await c.query('INSERT INTO wj_collections (dataset, coll, head, rows) SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::bigint[])', [
          meta._id, [...colls.keys()], [...colls.values()].map((e) => e.head), [...colls.values()].map((e) => e.rows),
        ]);
        await c.query('INSERT INTO wj_replicas (dataset, replica_id, last_seq, last_seen_at) SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::bigint[])', [
          meta._id, replicaRows.map((r) => r._id), replicaRows.map((r) => r.lastSeq), replicaRows.map((r) => r.lastSeenAt ?? 0),
        ]);
        report.replicas += replicaRows.length;
        progress(`${meta._id}: ${docRows.length} rows (head ${head}), ${replicaRows.length} replica(s)`);
      }
      await c.query('INSERT INTO wj_bindings (replica_id, key_hash, bound_at) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])', [
        bindings.map((b) => b._id), bindings.map((b) => b.keyHash), bindings.map((b) => b.boundAt ?? 0),
      ]);
      await c.query('INSERT INTO wj_api_keys (id, sha256, datasets, created_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])', [
        keys.map((k) => k.id), keys.map((k) => k.sha256), keys.map((k) => JSON.stringify(k.datasets)), keys.map((k) => k.createdAt),
      ]);
      step('commit');
      await c.query('COMMIT');
      step('done');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
    report.ms = Date.now() - t0;
    return report;
  } finally {
    await pool.end().catch(() => undefined);
    await db.close().catch(() => undefined);
    await release();
  }
}

function step(name: string): void {
  migrateSteps.onStep?.(name);
}
