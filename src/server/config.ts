/** Options of the sync server, their defaults, and the command-line parser. */
import { DEFAULT_LIMITS, Limits } from '../sync/protocol';
import type { AccessLogEntry } from './log';

export interface ServerOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one. Default 3000. */
  port?: number;
  /**
   * Data directory (the engine database lives in `<dataDir>/db`, stored key hashes in
   * `<dataDir>/keys.json`). Required unless `databaseUrl` is given.
   */
  dataDir?: string;
  /** Keep everything in PostgreSQL instead: `postgres://user:password@host:port/database`. */
  databaseUrl?: string;
  /** Connections in the PostgreSQL pool. Default 10. */
  databasePoolSize?: number;
  /** PostgreSQL's statement_timeout for each statement, ms. Default 30 000. */
  databaseStatementTimeoutMs?: number;
  /**
   * API keys: `"key"` (every dataset) or `"key:ds1,ds2"` (only those datasets). Keys may not
   * contain `:`, `,` or white space.
   */
  apiKeys?: string[];
  /** A file of keys: one per line, `key`, `key dataset`, `key ds1,ds2`, `key *`, or `sha256:<hex> …`. */
  apiKeysFile?: string;
  /** Comma-separated keys (the value of `WISEJSON_SYNC_API_KEYS`): `key` or `key:dataset` each. */
  apiKeysEnv?: string;
  /** Limits advertised by /v1/info and enforced. */
  limits?: Partial<Limits>;
  /** How often the tombstone purge runs, ms. Default 1 hour. 0 = never (call `purgeTombstones()`). */
  purgeIntervalMs?: number;
  /** Clock (ms since the epoch). Default `Date.now`. Tests inject one. */
  now?: () => number;
  /** Access log: true (default) = JSON lines on stdout, false = off, or a function receiving each entry. */
  accessLog?: boolean | ((entry: AccessLogEntry) => void);
  /** Error log (one line each). Default: stderr. */
  errorLog?: (line: string) => void;
  /** Graceful shutdown: in-flight requests get this long before connections are cut, ms. Default 10 000. */
  shutdownTimeoutMs?: number;
  /** How often stored key files are checked for changes, ms. Default 2000. 0 = never. */
  keysReloadIntervalMs?: number;
}

export interface ResolvedServerOptions extends Required<Omit<ServerOptions, 'apiKeysFile' | 'apiKeysEnv' | 'limits' | 'dataDir' | 'databaseUrl'>> {
  /** The data folder (embedded store), or null with a database URL. */
  dataDir: string | null;
  databaseUrl: string | null;
  apiKeysFile: string | null;
  apiKeysEnv: string | null;
  limits: Limits;
}

export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(partial) as [keyof Limits, number | undefined][]) {
    if (v === undefined) continue;
    if (!Object.hasOwn(DEFAULT_LIMITS, k)) throw new ConfigError(`Unknown limit "${k}".`);
    const integer = k !== 'tombstoneRetentionDays' && k !== 'maxWaitSec';
    const min = k === 'tombstoneRetentionDays' || k === 'maxWaitSec' || k === 'maxClockDriftMs' ? 0 : 1;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isSafeInteger(v))) {
      throw new ConfigError(`Limit ${k} must be ${integer ? 'an integer' : 'a number'} >= ${min}.`);
    }
    out[k] = v;
  }
  return out;
}

export function resolveOptions(o: ServerOptions): ResolvedServerOptions {
  if (!o) throw new ConfigError('Server options are required.');
  const databaseUrl = typeof o.databaseUrl === 'string' && o.databaseUrl.length > 0 ? o.databaseUrl : null;
  if (!databaseUrl && (typeof o.dataDir !== 'string' || o.dataDir.length === 0)) throw new ConfigError('dataDir is required (the folder where the server keeps its data), or a databaseUrl.');
  if (databaseUrl && o.dataDir) throw new ConfigError('Give either a data folder or a database URL, not both: the server keeps its data in one of them.');
  const port = o.port ?? 3000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('port must be an integer 0-65535.');
  const positiveInt = (name: string, v: number | undefined, def: number): number => {
    if (v === undefined) return def;
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${name} must be an integer >= 1.`);
    return v;
  };
  const nonNeg = (name: string, v: number | undefined, def: number): number => {
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ConfigError(`${name} must be a number >= 0.`);
    return v;
  };
  return {
    host: o.host ?? '127.0.0.1',
    port,
    dataDir: databaseUrl ? null : o.dataDir!,
    databaseUrl,
    databasePoolSize: positiveInt('databasePoolSize', o.databasePoolSize, 10),
    databaseStatementTimeoutMs: nonNeg('databaseStatementTimeoutMs', o.databaseStatementTimeoutMs, 30_000),
    apiKeys: o.apiKeys ?? [],
    apiKeysFile: o.apiKeysFile ?? null,
    apiKeysEnv: o.apiKeysEnv ?? null,
    limits: resolveLimits(o.limits),
    purgeIntervalMs: nonNeg('purgeIntervalMs', o.purgeIntervalMs, 60 * 60 * 1000),
    now: o.now ?? Date.now,
    accessLog: o.accessLog ?? true,
    errorLog: o.errorLog ?? ((line: string) => process.stderr.write(line + '\n')),
    shutdownTimeoutMs: nonNeg('shutdownTimeoutMs', o.shutdownTimeoutMs, 10_000),
    keysReloadIntervalMs: nonNeg('keysReloadIntervalMs', o.keysReloadIntervalMs, 2000),
  };
}

// -----------------------------------------------------------------------------------------
// Command line

export const USAGE = `WiseJSON sync server (protocol docsync/1)

Usage:
  node dist/server.js [serve] [options]
  node dist/server.js keys create --data <dir> --dataset <name> [--dataset <name>...]
  node dist/server.js keys list   --data <dir>
  node dist/server.js keys revoke --data <dir> --id <keyId>
  (the keys commands take --database-url <url> instead of --data for a server on PostgreSQL)
  node dist/server.js migrate --data <dir> --database-url <url>
                                  copy a stopped server's data folder (datasets, documents,
                                  replicas, key bindings, stored keys) into an empty PostgreSQL
                                  database: its clients go on there without a re-sync
  node dist/server.js --help

Serve options:
  --host <addr>                   interface to listen on (default 127.0.0.1)
  --port <n>                      TCP port, 0 = any free port (default 3000)
  --data <dir>                    data directory (default ./sync-data)
  --database-url <url>            keep everything in PostgreSQL instead of a data directory:
                                  postgres://user:password@host:5432/database (also from
                                  WISEJSON_SYNC_DATABASE_URL, which keeps the password off the
                                  command line)
  --database-pool-size <n>        PostgreSQL connections, default 10
  --database-statement-timeout-ms <n>  per statement, default 30000
  --api-key <key>[:ds1,ds2]       an API key, for every dataset or only those listed (repeatable)
  --api-keys-file <file>          keys, one per line: "key", "key dataset", "key ds1,ds2", "key *",
                                  or "sha256:<hex> ..." for an already hashed key; # comments
  --max-ops-per-push <n>          default 500
  --max-push-bytes <n>            default 4194304 (4 MiB)
  --max-doc-bytes <n>             default 1048576 (1 MiB)
  --max-pull-limit <n>            default 1000
  --max-pull-bytes <n>            default 4194304 (4 MiB)
  --max-wait-sec <n>              longest long-poll, default 30
  --max-clock-drift-ms <n>        stamps further ahead of server time are clamped, default 60000
  --tombstone-retention-days <n>  deletes are kept this long (decimals allowed), default 30
  --purge-interval-sec <n>        how often expired tombstones are purged, default 3600 (0 = never)
  --shutdown-timeout-sec <n>      grace period for in-flight requests on SIGINT/SIGTERM, default 10
  --no-access-log                 do not print the JSON access log on stdout

Keys also come from the environment: WISEJSON_SYNC_API_KEYS="key1,key2:dataset".
"keys create" prints a new key once and stores only its SHA-256 hash in <data>/keys.json; a
running server picks it up within seconds.

Prints "listening on http://<host>:<port>" when ready; SIGINT/SIGTERM stop it gracefully.
`;

export type Command =
  | { kind: 'help' }
  | { kind: 'serve'; options: ServerOptions }
  | { kind: 'keys-create'; store: KeyStoreLocation; datasets: string[] }
  | { kind: 'keys-list'; store: KeyStoreLocation }
  | { kind: 'keys-revoke'; store: KeyStoreLocation; id: string }
  | { kind: 'migrate'; dataDir: string; databaseUrl: string };

/** Where `keys create/list/revoke` keep the key hashes: a data folder's keys.json, or the database. */
export type KeyStoreLocation = { dataDir: string } | { databaseUrl: string };

const LIMIT_FLAGS: Record<string, keyof import('../sync/protocol').Limits> = {
  '--max-ops-per-push': 'maxOpsPerPush',
  '--max-push-bytes': 'maxPushBytes',
  '--max-doc-bytes': 'maxDocBytes',
  '--max-pull-limit': 'maxPullLimit',
  '--max-pull-bytes': 'maxPullBytes',
  '--max-wait-sec': 'maxWaitSec',
  '--max-clock-drift-ms': 'maxClockDriftMs',
  '--tombstone-retention-days': 'tombstoneRetentionDays',
};

/** Parses argv (without `node` and the script). Throws ConfigError on a usage error. */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = {}): Command {
  const args: string[] = [];
  for (const a of argv) {
    // --flag=value → --flag value
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 2) args.push(a.slice(0, eq), a.slice(eq + 1));
    else args.push(a);
  }
  if (args.includes('--help') || args.includes('-h') || args[0] === 'help') return { kind: 'help' };
  let i = 0;
  const value = (flag: string): string => {
    const v = args[i + 1];
    if (v === undefined || (v.startsWith('--') && v.length > 2)) throw new ConfigError(`${flag} needs a value.`);
    i += 2;
    return v;
  };
  const number = (flag: string, text: string): number => {
    if (!/^\d+(\.\d+)?$/.test(text)) throw new ConfigError(`${flag} must be a number >= 0.`);
    return Number(text);
  };

  if (args[0] === 'keys') {
    const sub = args[1];
    i = 2;
    let dataDir: string | undefined;
    let databaseUrl: string | undefined;
    const datasets: string[] = [];
    let id: string | undefined;
    while (i < args.length) {
      const a = args[i];
      if (a === '--data') dataDir = value(a);
      else if (a === '--database-url') databaseUrl = value(a);
      else if (a === '--dataset') datasets.push(value(a));
      else if (a === '--id') id = value(a);
      else throw new ConfigError(a.startsWith('--') ? `Unknown option for "keys": ${a.slice(0, 60)}` : `Unexpected argument at position ${i + 1} (see --help).`);
    }
    databaseUrl ??= dataDir === undefined ? env.WISEJSON_SYNC_DATABASE_URL || undefined : undefined;
    if (dataDir !== undefined && databaseUrl !== undefined) throw new ConfigError('--data and --database-url both given: the keys live with the server\'s data, in one of them.');
    const store: KeyStoreLocation = databaseUrl !== undefined ? { databaseUrl } : { dataDir: dataDir ?? './sync-data' };
    if (sub === 'create') {
      if (datasets.length === 0) throw new ConfigError('keys create needs --dataset <name> (repeatable; "*" = every dataset).');
      return { kind: 'keys-create', store, datasets };
    }
    if (sub === 'list') return { kind: 'keys-list', store };
    if (sub === 'revoke') {
      if (!id) throw new ConfigError('keys revoke needs --id <keyId> (see "keys list").');
      return { kind: 'keys-revoke', store, id };
    }
    throw new ConfigError('Usage: keys create|list|revoke (see --help).');
  }

  if (args[0] === 'migrate') {
    i = 1;
    let dataDir: string | undefined;
    let databaseUrl: string | undefined = env.WISEJSON_SYNC_DATABASE_URL || undefined;
    while (i < args.length) {
      const a = args[i];
      if (a === '--data') dataDir = value(a);
      else if (a === '--database-url') databaseUrl = value(a);
      else throw new ConfigError(a.startsWith('--') ? `Unknown option for "migrate": ${a.slice(0, 60)}` : `Unexpected argument at position ${i + 1} (see --help).`);
    }
    if (dataDir === undefined) throw new ConfigError('migrate needs --data <dir>: the data folder of the stopped server to copy.');
    if (databaseUrl === undefined) throw new ConfigError('migrate needs --database-url <url> (or WISEJSON_SYNC_DATABASE_URL): the empty PostgreSQL database to copy into.');
    return { kind: 'migrate', dataDir, databaseUrl };
  }

  if (args[0] === 'serve') i = 1;
  const options: ServerOptions = { apiKeys: [], limits: {} };
  while (i < args.length) {
    const a = args[i];
    if (a === '--host') options.host = value(a);
    else if (a === '--port') {
      const p = value(a);
      if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new ConfigError('--port must be an integer 0-65535.');
      options.port = Number(p);
    } else if (a === '--data') options.dataDir = value(a);
    else if (a === '--database-url') options.databaseUrl = value(a);
    else if (a === '--database-pool-size') options.databasePoolSize = number(a, value(a));
    else if (a === '--database-statement-timeout-ms') options.databaseStatementTimeoutMs = number(a, value(a));
    else if (a === '--api-key') options.apiKeys!.push(value(a));
    else if (a === '--api-keys-file') options.apiKeysFile = value(a);
    else if (a === '--purge-interval-sec') options.purgeIntervalMs = number(a, value(a)) * 1000;
    else if (a === '--shutdown-timeout-sec') options.shutdownTimeoutMs = number(a, value(a)) * 1000;
    else if (a === '--no-access-log') {
      options.accessLog = false;
      i++;
    } else if (Object.hasOwn(LIMIT_FLAGS, a)) options.limits![LIMIT_FLAGS[a]] = number(a, value(a));
    // Never echo a positional argument: it could be a key typed in the wrong place.
    else throw new ConfigError(a.startsWith('--') ? `Unknown option: ${a.slice(0, 60)} (see --help).` : `Unexpected argument at position ${i + 1} (see --help).`);
  }
  if (env.WISEJSON_SYNC_API_KEYS) options.apiKeysEnv = env.WISEJSON_SYNC_API_KEYS;
  if (options.databaseUrl === undefined && env.WISEJSON_SYNC_DATABASE_URL) options.databaseUrl = env.WISEJSON_SYNC_DATABASE_URL;
  if (options.databaseUrl && options.dataDir) throw new ConfigError('--data and --database-url both given: the server keeps its data in one of them.');
  if (!options.databaseUrl) options.dataDir ??= './sync-data';
  return { kind: 'serve', options };
}
