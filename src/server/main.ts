/**
 * Command line of the sync server (bundled to dist/server.js):
 *
 *   node dist/server.js --host 127.0.0.1 --port 3000 --data ./sync-data --api-key <key>
 *   node dist/server.js keys create --data ./sync-data --dataset notes
 *   node dist/server.js --database-url postgres://… (or WISEJSON_SYNC_DATABASE_URL)
 *   node dist/server.js migrate --data ./sync-data --database-url postgres://…
 *   node dist/server.js --help
 */
import { createStoredKey, readStoredKeys, revokeStoredKey, type StoredKey, storedKeysPath } from './auth';
import { ConfigError, type KeyStoreLocation, parseArgs, USAGE } from './config';
import { startServer } from './index';
import { describeDatabaseUrl, PostgresKeys } from './store/postgres';
import { migrateToPostgres } from './store/migrate-to-postgres';

interface StoredKeys {
  list(): Promise<StoredKey[]>;
  create(datasets: string[]): Promise<{ key: string; id: string }>;
  revoke(id: string): Promise<boolean>;
}

/** Runs `work` on the stored keys of a data folder (keys.json) or of a database. */
async function withKeys<T>(store: KeyStoreLocation, work: (keys: StoredKeys) => Promise<T>): Promise<T> {
  if ('dataDir' in store) {
    const dir = store.dataDir;
    return work({ list: () => readStoredKeys(dir), create: (d) => createStoredKey(dir, d), revoke: (id) => revokeStoredKey(dir, id) });
  }
  const keys = await PostgresKeys.open(store.databaseUrl);
  try {
    return await work(keys);
  } finally {
    await keys.close();
  }
}

/** Where the keys are, for messages (a database URL without its password). */
function where(store: KeyStoreLocation): string {
  return 'dataDir' in store ? storedKeysPath(store.dataDir) : `the table wj_api_keys of ${describeDatabaseUrl(store.databaseUrl)}`;
}

async function main(): Promise<number> {
  let cmd;
  try {
    cmd = parseArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`error: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  switch (cmd.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'keys-create': {
      const { key, id } = await withKeys(cmd.store, (k) => k.create(cmd.datasets));
      process.stdout.write(key + '\n');
      process.stderr.write(
        `Created key ${id} for ${cmd.datasets.includes('*') ? 'every dataset' : `dataset(s) ${cmd.datasets.join(', ')}`}.\n` +
          `It is shown only this once: only its SHA-256 hash is stored, in ${where(cmd.store)}.\n` +
          'A running server picks it up within seconds.\n',
      );
      return 0;
    }
    case 'keys-list': {
      const keys = await withKeys(cmd.store, (k) => k.list());
      if (keys.length === 0) process.stderr.write(`No stored keys in ${where(cmd.store)}.\n`);
      for (const k of keys) process.stdout.write(`${k.id}\t${k.datasets === '*' ? '*' : k.datasets.join(',')}\t${k.createdAt}\n`);
      return 0;
    }
    case 'keys-revoke': {
      const ok = await withKeys(cmd.store, (k) => k.revoke(cmd.id));
      process.stderr.write(ok ? `Revoked ${cmd.id}.\n` : `No stored key with id ${cmd.id}.\n`);
      return ok ? 0 : 1;
    }
    case 'migrate': {
      const r = await migrateToPostgres(cmd.dataDir, cmd.databaseUrl, (line) => process.stderr.write(`${line}\n`));
      process.stderr.write(
        `Copied ${cmd.dataDir} into ${describeDatabaseUrl(cmd.databaseUrl)} in ${(r.ms / 1000).toFixed(1)} s: ${r.datasets} dataset(s), ${r.rows} document row(s) ` +
          `(${r.tombstones} tombstone(s)), ${r.replicas} replica(s), ${r.bindings} key binding(s), ${r.keys} stored key(s).\n` +
          'Start the server with --database-url instead of --data; its clients go on without a re-sync. The data folder was not changed.\n',
      );
      return 0;
    }
    case 'serve': {
      const server = await startServer(cmd.options);
      process.stdout.write(`listening on ${server.url}\n`);
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) {
          process.stderr.write(`${signal} again: exiting without waiting.\n`);
          process.exit(1);
        }
        stopping = true;
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`shutdown failed: ${err instanceof Error ? err.message : 'unknown error'}\n`);
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      return -1; // keep running
    }
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as { name?: string; code?: unknown; message?: string };
    process.stderr.write(`error: ${e?.message ?? 'unknown error'}${typeof e?.code === 'string' ? ` [${e.code}]` : ''}\n`);
    process.exitCode = 1;
  },
);
