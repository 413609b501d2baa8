/**
 * Command line of the sync server (bundled to dist/server.js):
 *
 *   node dist/server.js --host 127.0.0.1 --port 3000 --data ./sync-data --api-key <key>
 *   node dist/server.js keys create --data ./sync-data --dataset notes
 *   node dist/server.js --help
 */
import { createStoredKey, readStoredKeys, revokeStoredKey, storedKeysPath } from './auth';
import { ConfigError, parseArgs, USAGE } from './config';
import { startServer } from './index';

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
      const { key, id } = await createStoredKey(cmd.dataDir, cmd.datasets);
      process.stdout.write(key + '\n');
      process.stderr.write(
        `Created key ${id} for ${cmd.datasets.includes('*') ? 'every dataset' : `dataset(s) ${cmd.datasets.join(', ')}`}.\n` +
          `It is shown only this once: only its SHA-256 hash is stored, in ${storedKeysPath(cmd.dataDir)}.\n` +
          'A running server picks it up within seconds.\n',
      );
      return 0;
    }
    case 'keys-list': {
      const keys = await readStoredKeys(cmd.dataDir);
      if (keys.length === 0) process.stderr.write(`No stored keys in ${storedKeysPath(cmd.dataDir)}.\n`);
      for (const k of keys) process.stdout.write(`${k.id}\t${k.datasets === '*' ? '*' : k.datasets.join(',')}\t${k.createdAt}\n`);
      return 0;
    }
    case 'keys-revoke': {
      const ok = await revokeStoredKey(cmd.dataDir, cmd.id);
      process.stderr.write(ok ? `Revoked ${cmd.id}.\n` : `No stored key with id ${cmd.id}.\n`);
      return ok ? 0 : 1;
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
