/**
 * A real PostgreSQL for tests: `initdb` in a temp folder (as the unprivileged `postgres` user
 * when running as root: the server refuses root), started on a free port on 127.0.0.1 with fsync
 * on, and removed afterwards. Each test server gets its own database in it.
 *
 * `WISEJSON_TEST_STORE=postgres` makes the store-neutral suites run against it: the mocha global
 * setup (./global.ts) starts one cluster for the run and puts its URL in
 * `WISEJSON_TEST_PG_URL`; the test servers (test/server/helpers.ts, test/sync/harness.ts) then
 * keep their data in a fresh database of it instead of a data folder.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';

/** PostgreSQL's bin folder (`pg_config --bindir`, else the newest /usr/lib/postgresql/<v>/bin), or null. */
export function postgresBinDir(): string | null {
  const has = (d: string): boolean => fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl'));
  try {
    const d = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (d && has(d)) return d;
  } catch {
    // no pg_config
  }
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (has(path.join(root, v, 'bin'))) return path.join(root, v, 'bin');
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The test superuser's password (a test cluster on 127.0.0.1 only, removed after the run). */
const PASSWORD = 'wj-test-only';

export class PostgresCluster {
  private constructor(readonly dir: string, readonly bin: string, readonly port: number, private readonly asPostgres: boolean) {}

  /** `postgres://wj:<password>@127.0.0.1:<port>/<database>` (TCP logins need the password, as in production). */
  url(database = 'postgres'): string {
    return `postgres://wj:${PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  static async start(): Promise<PostgresCluster> {
    const bin = postgresBinDir();
    if (!bin) throw new Error('PostgreSQL is not installed (no initdb/pg_ctl): apt-get install -y postgresql');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-pg-'));
    fs.writeFileSync(path.join(dir, 'pwfile'), `${PASSWORD}\n`);
    const asPostgres = process.getuid?.() === 0;
    if (asPostgres) execFileSync('chown', ['-R', 'postgres', dir]);
    const port = await freePort();
    const c = new PostgresCluster(dir, bin, port, asPostgres);
    c.run('initdb', ['-D', path.join(dir, 'data'), '--auth-local=trust', '--auth-host=scram-sha-256', '-U', 'wj', `--pwfile=${path.join(dir, 'pwfile')}`, '--no-sync']);
    c.startServer();
    return c;
  }

  /** Starts the server (again, after stopServer: same data, same port). */
  startServer(): void {
    this.run('pg_ctl', ['-D', path.join(this.dir, 'data'), '-l', path.join(this.dir, 'log'), '-w', '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300`, 'start']);
  }

  /** Stops the server and keeps its data (`immediate`: as a crash would; it recovers from its WAL on start). */
  stopServer(mode: 'fast' | 'immediate'): void {
    this.run('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', mode, '-w', 'stop']);
  }

  private run(tool: string, args: string[]): void {
    const exe = path.join(this.bin, tool);
    const r = this.asPostgres ? spawnSync('runuser', ['-u', 'postgres', '--', exe, ...args], { encoding: 'utf8' }) : spawnSync(exe, args, { encoding: 'utf8' });
    if (r.status !== 0) {
      let log = '';
      try {
        log = fs.readFileSync(path.join(this.dir, 'log'), 'utf8').slice(-2000);
      } catch {
        // no log yet
      }
      throw new Error(`${tool} failed (${r.status}): ${r.stderr || r.stdout}${log ? `\n${log}` : ''}`);
    }
  }

  /** A new, empty database; its URL. */
  createDatabase(): Promise<string> {
    return createDatabase(this.url());
  }

  /** Stops the server (`immediate`: as kill -9 would) and removes its folder. */
  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    try {
      this.stopServer(mode);
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/** Creates a new, empty database on the server of `baseUrl`; returns its URL. */
export async function createDatabase(baseUrl: string): Promise<string> {
  const name = `wj_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const c = new Client({ connectionString: baseUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

const databases = new Map<string, Promise<string>>();

/**
 * In a PostgreSQL run, the database that stands for the data folder `dataDir` of a test server
 * (the same one for every server started on that folder, as a restart would find it); else null.
 */
export async function testDatabaseUrl(dataDir: string): Promise<string | null> {
  if (process.env.WISEJSON_TEST_STORE !== 'postgres') return null;
  const base = process.env.WISEJSON_TEST_PG_URL;
  if (!base) throw new Error('WISEJSON_TEST_STORE=postgres without WISEJSON_TEST_PG_URL: run through the mocha config that starts the cluster (.mocharc.postgres.json)');
  const key = dataDir.replace(/\/+$/, '');
  let url = databases.get(key);
  if (!url) databases.set(key, (url = createDatabase(base)));
  return url;
}

/** Whether this run keeps the test servers' data in PostgreSQL. */
export const ON_POSTGRES = process.env.WISEJSON_TEST_STORE === 'postgres';

/** Connects to the server of `url` (its maintenance database) for `work`. */
async function onServer<T>(url: string, work: (c: Client) => Promise<T>): Promise<T> {
  const u = new URL(url);
  u.pathname = '/postgres';
  const c = new Client({ connectionString: u.toString() });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

const dbName = (url: string): string => decodeURIComponent(new URL(url).pathname.slice(1));

/** A copy of the database of `url` (nobody may be connected to it): PostgreSQL's backup, for restore tests. */
export async function copyDatabase(url: string): Promise<string> {
  const copy = `${dbName(url)}_copy_${Math.random().toString(36).slice(2, 8)}`;
  await onServer(url, (c) => c.query(`CREATE DATABASE ${copy} TEMPLATE ${dbName(url)}`));
  const u = new URL(url);
  u.pathname = `/${copy}`;
  return u.toString();
}

/** Replaces the database of `url` by a copy of `from` (a restore from that backup). */
export async function restoreDatabase(url: string, from: string): Promise<void> {
  await onServer(url, async (c) => {
    await c.query(`DROP DATABASE ${dbName(url)} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${dbName(url)} TEMPLATE ${dbName(from)}`);
  });
}

/**
 * Registers a test only when the servers keep their data in a folder: tests of the embedded
 * store's own files (a data folder of an earlier version, one server per folder).
 */
export function itEmbedded(title: string, fn: Mocha.AsyncFunc): void {
  if (!ON_POSTGRES) it(title, fn);
}

/** Runs one statement on the database of `url` (a connection of its own); its rows. */
export async function sql<R extends object>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}
