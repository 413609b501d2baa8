/**
 * Test helpers for the sync server: an in-process server on 127.0.0.1:0 in a fresh temp data
 * directory, a tiny HTTP client speaking docsync/1, and replicas that stamp ops with their own
 * (optionally skewed) HLC.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AccessLogEntry, RunningServer, ServerOptions, startServer } from '../../src/server';
import { HybridLogicalClock } from '../../src/sync/hlc';
import { copyDatabase, restoreDatabase, testDatabaseUrl } from '../postgres/cluster';
import {
  ChangesResponse, DelOp, JsonObject, Op, parseChangesResponse, parseProblem, parsePushResponse, PatchOp, Problem,
  PushRequest, PushResponse, PutOp,
} from '../../src/sync/protocol';

export const KEY = 'test-key-all-0001';
export const KEY2 = 'test-key-all-0002';
/** Allowed only dataset "allowed". */
export const KEY_SCOPED = 'test-key-scoped-01';

export async function tmpDir(prefix = 'wisejson-sync-test-'): Promise<string> {
  return fs.promises.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** A server per test (or per describe), with its access log captured. */
export class TestServer {
  dir = '';
  /** In a PostgreSQL run (WISEJSON_TEST_STORE=postgres): the database standing for `dir`. */
  databaseUrl: string | null = null;
  server: RunningServer | null = null;
  readonly logs: AccessLogEntry[] = [];
  readonly errors: string[] = [];

  constructor(readonly options: Partial<ServerOptions> = {}) {}

  get url(): string {
    if (!this.server) throw new Error('server not running');
    return this.server.url;
  }

  async start(extra: Partial<ServerOptions> = {}): Promise<RunningServer> {
    if (!this.dir) this.dir = await tmpDir();
    this.databaseUrl = await testDatabaseUrl(this.dir);
    this.server = await startServer({
      host: '127.0.0.1',
      port: 0,
      ...(this.databaseUrl ? { databaseUrl: this.databaseUrl } : { dataDir: this.dir }),
      apiKeys: [KEY, KEY2, `${KEY_SCOPED}:allowed`],
      accessLog: (e) => this.logs.push(e),
      errorLog: (l) => this.errors.push(l),
      purgeIntervalMs: 0,
      keysReloadIntervalMs: 0,
      ...this.options,
      ...extra,
    });
    return this.server;
  }

  async stop(): Promise<void> {
    if (this.server) await this.server.close();
    this.server = null;
  }

  async restart(extra: Partial<ServerOptions> = {}): Promise<RunningServer> {
    await this.stop();
    return this.start(extra);
  }

  /**
   * A copy of the stopped server's data, as a backup would take it: its data folder, or in a
   * PostgreSQL run its database. Returns where the copy is.
   */
  async copyData(): Promise<string> {
    if (this.databaseUrl) return copyDatabase(this.databaseUrl);
    const backup = await tmpDir('wisejson-sync-backup-');
    await fs.promises.cp(this.dir, backup, { recursive: true });
    return backup;
  }

  /** Puts a copy made by {@link copyData} in place of the stopped server's data (a restore). */
  async restoreData(copy: string): Promise<void> {
    if (this.databaseUrl) return restoreDatabase(this.databaseUrl, copy);
    await fs.promises.rm(this.dir, { recursive: true, force: true });
    await fs.promises.cp(copy, this.dir, { recursive: true });
  }

  async cleanup(): Promise<void> {
    await this.stop();
    if (this.dir) await fs.promises.rm(this.dir, { recursive: true, force: true });
    this.dir = '';
    this.databaseUrl = null;
  }

  api(key: string | null = KEY): Api {
    return new Api(this.url, key);
  }
}

/** Registers a fresh server per test in the current describe. */
export function useServer(options: Partial<ServerOptions> = {}): TestServer {
  const t = new TestServer(options);
  beforeEach(async () => {
    await t.start();
  });
  afterEach(async () => {
    await t.cleanup();
    t.logs.length = 0;
    t.errors.length = 0;
  });
  return t;
}

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

export class Api {
  constructor(readonly url: string, readonly key: string | null) {}

  async request<T = unknown>(method: string, p: string, o: { body?: string | Uint8Array; headers?: Record<string, string>; protocol?: string | null } = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = {};
    if (o.protocol !== null) headers['Sync-Protocol'] = o.protocol ?? '1';
    if (this.key !== null) headers.Authorization = `Bearer ${this.key}`;
    if (o.body !== undefined) headers['Content-Type'] = 'application/json';
    Object.assign(headers, o.headers ?? {});
    const res = await fetch(this.url + p, { method, headers, body: o.body as BodyInit | undefined });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, headers: res.headers, text, json: json as T };
  }

  /** Pushes; asserts 200 and a valid response. */
  async push(ds: string, body: PushRequest): Promise<PushResponse> {
    const r = await this.request('POST', `/v1/datasets/${encodeURIComponent(ds)}/push`, { body: JSON.stringify(body) });
    assert.equal(r.status, 200, `push failed: ${r.text}`);
    return parsePushResponse(r.json, body);
  }

  /** Pushes and expects a problem with `status`/`code`. */
  async pushProblem(ds: string, body: unknown, status: number, code: string): Promise<Problem> {
    const r = await this.request('POST', `/v1/datasets/${encodeURIComponent(ds)}/push`, { body: typeof body === 'string' ? body : JSON.stringify(body) });
    return expectProblem(r, status, code);
  }

  changesRaw(ds: string, query: Record<string, string | number> = {}): Promise<Reply> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    return this.request('GET', `/v1/datasets/${encodeURIComponent(ds)}/changes${qs ? `?${qs}` : ''}`);
  }

  /** One page; asserts 200 and a valid page. */
  async changes(ds: string, query: Record<string, string | number> = {}): Promise<ChangesResponse> {
    const r = await this.changesRaw(ds, query);
    assert.equal(r.status, 200, `changes failed: ${r.text}`);
    const since = typeof query.since === 'string' && query.since !== '0' ? { epoch: query.since.split(':')[0], v: Number(query.since.split(':')[1]) } : null;
    return parseChangesResponse(r.json, { since });
  }

  /** Pulls every page from `since` and returns the final state per (coll, id) and the checkpoint. */
  async pullAll(ds: string, since = '0', query: Record<string, string | number> = {}): Promise<{ docs: Map<string, JsonObject | null>; checkpoint: string; proof: string | undefined; pages: ChangesResponse[] }> {
    const docs = new Map<string, JsonObject | null>();
    const pages: ChangesResponse[] = [];
    let cp = since;
    for (let i = 0; i < 10_000; i++) {
      const page = await this.changes(ds, { ...query, since: cp });
      pages.push(page);
      for (const c of page.changes) docs.set(`${c.coll}/${c.id}`, c.deleted ? null : c.doc!);
      cp = page.checkpoint;
      if (!page.hasMore) break;
    }
    return { docs, checkpoint: cp, proof: pages[pages.length - 1]?.checkpointProof, pages };
  }
}

export function expectProblem(r: Reply, status: number, code: string): Problem {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status}: ${r.text}`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const p = parseProblem(r.json);
  assert.equal(p.code, code);
  assert.equal(p.status, status);
  assert.equal(typeof p.serverTime, 'number');
  return p;
}

/** A client replica: numbers its ops and stamps them with its own HLC (clock offset in ms). */
export class Replica {
  seq = 0;
  readonly clock: HybridLogicalClock;

  constructor(readonly id: string, readonly offsetMs = 0) {
    this.clock = new HybridLogicalClock(id, { now: () => Date.now() + this.offsetMs });
  }

  put(coll: string, id: string, doc: JsonObject, base = 0): PutOp {
    return { seq: ++this.seq, hlc: this.clock.tick(), coll, id, kind: 'put', base, doc };
  }

  patch(coll: string, id: string, set: JsonObject, base = 0, unset?: string[]): PatchOp {
    const op: PatchOp = { seq: ++this.seq, hlc: this.clock.tick(), coll, id, kind: 'patch', base, set };
    if (unset) op.unset = unset;
    return op;
  }

  del(coll: string, id: string, base = 0): DelOp {
    return { seq: ++this.seq, hlc: this.clock.tick(), coll, id, kind: 'del', base };
  }

  /** The HLC receive rule on every pulled change, as a client does. */
  observe(page: ChangesResponse): void {
    for (const c of page.changes) this.clock.receive(c.hlc);
  }

  body(ops: Op[], checkpointEpoch: string | null = null): PushRequest {
    return { replicaId: this.id, checkpointEpoch, ops };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Finds the live document `coll/id` in a full pull. */
export async function docOf(api: Api, ds: string, coll: string, id: string): Promise<JsonObject | null | undefined> {
  const { docs } = await api.pullAll(ds);
  return docs.get(`${coll}/${id}`);
}

/** The `_conflicts` documents of a dataset. */
export async function conflictsOf(api: Api, ds: string): Promise<JsonObject[]> {
  const { docs } = await api.pullAll(ds);
  const out: JsonObject[] = [];
  for (const [k, d] of docs) if (k.startsWith('_conflicts/') && d) out.push(d);
  return out;
}
