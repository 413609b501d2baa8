/**
 * Shared harness of the sync robustness tests: in-process replicas that record every local write
 * (with the state the writer saw), replicas in child processes, the sync server as a child
 * process, and the convergence oracle:
 *
 *  - every replica holds exactly the server's live documents (user collection and `_conflicts`),
 *    with the server's version as `_v`, and nothing pending;
 *  - every acknowledged write is still there: each field value it wrote is the document's value,
 *    or a side of a conflict record of that document, or it was overwritten by a write whose
 *    writer had seen it (the same replica later, or another replica whose view held that value);
 *    a delete left the document deleted unless someone re-created it.
 */
import assert from 'node:assert/strict';
import { ChildProcess, fork, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Collection, WiseJSON } from '../../src/engine';
import type { WiseJSONOptions } from '../../src/engine';
import { HttpSyncApiClient } from '../../src/sync/api-client';
import { ChangesResponse, jsonEqual, parseChangesResponse, parsePushResponse, PushResponse } from '../../src/sync/protocol';
import type { OutboxOp } from '../../src/engine/state/sync-state';
import { KEY } from '../server/helpers';
import { testDatabaseUrl } from '../postgres/cluster';

export const DS = 'team';
export const COLL = 'notes';
export const SYSTEM = new Set(['_id', 'createdAt', 'updatedAt', '_v']);
const ROOT = path.resolve(__dirname, '..', '..', '..');
export const SERVER_JS = path.join(ROOT, 'dist', 'server.js');
export const WORKER_JS = path.join(__dirname, 'fixtures', 'replica-worker.js');

export async function tmpDir(prefix: string): Promise<string> {
  return fs.promises.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function rmDir(dir: string): Promise<void> {
  if (dir) await fs.promises.rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `cond()` is truthy (polling), or fails after `ms`. */
export async function waitFor<T>(what: string, cond: () => T | Promise<T>, ms = 30_000, every = 25): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** A seeded PRNG (mulberry32), so random kill points can be replayed from the printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Write records

export const UNSET = { $unset: true } as const;

/** One local write as the oracle sees it. */
export interface WriteRecord {
  replica: string;
  seq: number;
  coll: string;
  id: string;
  kind: 'put' | 'patch' | 'del';
  /** The fields it wrote (UNSET for a removed field); none for a delete. */
  fields: Record<string, unknown>;
  /** The writer's local view of the document just before the write (null: it had none). */
  before: Record<string, unknown> | null;
}

export function recordsOf(replica: string, ops: OutboxOp[], before: Record<string, unknown> | null): WriteRecord[] {
  return ops.map((op) => {
    const fields: Record<string, unknown> = {};
    if (op.kind === 'put') Object.assign(fields, op.doc);
    if (op.kind === 'patch') {
      Object.assign(fields, op.set ?? {});
      for (const f of op.unset ?? []) fields[f] = UNSET;
    }
    return { replica, seq: op.seq, coll: op.coll, id: op.id, kind: op.kind, fields, before };
  });
}

/** Every write of a test, from every replica (in-process and child processes). */
export class WriteLog {
  readonly records: WriteRecord[] = [];

  add(records: WriteRecord[]): void {
    this.records.push(...records);
  }

  of(replica: string): WriteRecord[] {
    return this.records.filter((r) => r.replica === replica);
  }
}

// ---------------------------------------------------------------------------------------------
// In-process replicas

export interface ReplicaOptions {
  name?: string;
  pullLimit?: number;
  syncIntervalMs?: number;
  /** HTTP deadline of the client (a black-holed request ends after it). */
  timeoutMs?: number;
  engine?: WiseJSONOptions;
  key?: string;
  enable?: boolean;
}

export interface SyncEvent {
  name: string;
  payload: Record<string, unknown>;
  at: number;
}

const EVENTS = ['sync:start', 'sync:success', 'sync:error', 'sync:push_success', 'sync:pull_success', 'sync:progress', 'sync:conflict', 'sync:quarantine', 'sync:rejected', 'sync:reset', 'sync:paused', 'sync:resumed'];

export class Replica {
  db!: WiseJSON;
  col!: Collection;
  readonly events: SyncEvent[] = [];
  name: string;

  constructor(readonly dir: string, public url: string, readonly log: WriteLog, readonly options: ReplicaOptions = {}) {
    this.name = options.name ?? path.basename(dir);
  }

  static async open(dir: string, url: string, log: WriteLog, options: ReplicaOptions = {}): Promise<Replica> {
    const r = new Replica(dir, url, log, options);
    await r.open();
    return r;
  }

  async open(): Promise<void> {
    this.db = new WiseJSON(this.dir, this.options.engine);
    await this.db.init();
    this.col = await this.db.collection(COLL);
    for (const name of EVENTS) this.col.on(name, (payload: unknown) => void this.events.push({ name, payload: payload as Record<string, unknown>, at: Date.now() }));
    if (this.options.enable !== false) this.enable();
  }

  enable(): void {
    const key = this.options.key ?? KEY;
    this.col.enableSync({
      url: this.url,
      apiKey: key,
      dataset: DS,
      pullLimit: this.options.pullLimit,
      syncIntervalMs: this.options.syncIntervalMs,
      live: false, // the harness decides when each replica syncs
      apiClient: new HttpSyncApiClient(this.url, key, { timeoutMs: this.options.timeoutMs ?? 10_000, proxy: null }),
    });
  }

  get replicaId(): string {
    return this.db.meta!.replicaId;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private async tracked<T>(id: string, write: () => Promise<T>): Promise<T> {
    const before = await this.col.getById(id);
    const seq0 = this.db._sync.seq;
    const out = await write();
    const ops = this.db._sync.outbox.filter((o) => o.seq > seq0 && o.coll === COLL && o.id === id);
    this.log.add(recordsOf(this.replicaId, ops, before ? { ...before } : null));
    return out;
  }

  insert(doc: Record<string, unknown> & { _id: string }): Promise<unknown> {
    return this.tracked(doc._id, () => this.col.insert(doc));
  }

  update(id: string, patch: Record<string, unknown>): Promise<unknown> {
    return this.tracked(id, () => this.col.update(id, patch));
  }

  remove(id: string): Promise<unknown> {
    return this.tracked(id, () => this.col.remove(id));
  }

  sync(): Promise<void> {
    return this.col.triggerSync();
  }

  cursor(coll = COLL): string | null {
    return this.db._sync.collections.get(coll)?.cursor ?? null;
  }

  outbox(): OutboxOp[] {
    return JSON.parse(JSON.stringify(this.db._sync.outbox)) as OutboxOp[];
  }

  async docs(coll = COLL): Promise<Map<string, Record<string, unknown>>> {
    const c = await this.db.collection(coll);
    return new Map((await c.getAll()).map((d) => [d._id, { ...d }]));
  }

  /** Everything sync-relevant, as plain data (for "nothing changed" assertions). */
  async snapshot(): Promise<LocalSnapshot> {
    return {
      docs: Object.fromEntries(await this.docs(COLL)),
      conflicts: Object.fromEntries(await this.docs('_conflicts')),
      outbox: this.outbox(),
      cursors: { [COLL]: this.cursor(COLL), _conflicts: this.cursor('_conflicts') },
    };
  }

  eventsNamed(name: string): SyncEvent[] {
    return this.events.filter((e) => e.name === name);
  }
}

export interface LocalSnapshot {
  docs: Record<string, Record<string, unknown>>;
  conflicts: Record<string, Record<string, unknown>>;
  outbox: OutboxOp[];
  cursors: Record<string, string | null>;
}

// ---------------------------------------------------------------------------------------------
// The server's state, read over HTTP with the protocol's own validators

export interface ServerDoc {
  v: number;
  doc: Record<string, unknown> | null;
}

export interface ServerState {
  epoch: string;
  head: number;
  /** `coll/id` → latest state (null = tombstone). */
  docs: Map<string, ServerDoc>;
}

async function request(url: string, method: string, p: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(url + p, {
    method,
    headers: { authorization: `Bearer ${KEY}`, 'sync-protocol': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

export async function serverState(url: string): Promise<ServerState> {
  const docs = new Map<string, ServerDoc>();
  let since = '0';
  let page: ChangesResponse | null = null;
  for (let i = 0; i < 100_000; i++) {
    const r = await request(url, 'GET', `/v1/datasets/${DS}/changes?since=${encodeURIComponent(since)}&limit=1000`);
    assert.equal(r.status, 200, `changes failed: ${r.text}`);
    page = parseChangesResponse(r.text, { since: since === '0' ? null : { epoch: since.slice(0, since.lastIndexOf(':')), v: Number(since.slice(since.lastIndexOf(':') + 1)) } });
    for (const c of page.changes) docs.set(`${c.coll}/${c.id}`, { v: c.v, doc: c.deleted ? null : (c.doc as Record<string, unknown>) });
    since = page.checkpoint;
    if (!page.hasMore) break;
  }
  return { epoch: page!.epoch, head: page!.head, docs };
}

/** The server's durable lastSeq of a replica (an empty push answers it as ackSeq). */
export async function serverAckSeq(url: string, replicaId: string): Promise<number> {
  const r = await request(url, 'POST', `/v1/datasets/${DS}/push`, { replicaId, checkpointEpoch: null, ops: [] });
  assert.equal(r.status, 200, `empty push failed: ${r.text}`);
  return (parsePushResponse(r.text) as PushResponse).ackSeq;
}

export function liveDocs(s: ServerState, coll: string): Map<string, ServerDoc> {
  const out = new Map<string, ServerDoc>();
  for (const [k, d] of s.docs) if (d.doc && k.startsWith(`${coll}/`)) out.set(k.slice(coll.length + 1), d);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The oracle

/** Compares one replica's local state with the server's; returns the differences (empty = equal). */
export function differences(name: string, local: LocalSnapshot, server: ServerState): string[] {
  const out: string[] = [];
  if (local.outbox.length > 0) out.push(`${name}: ${local.outbox.length} op(s) still pending (seqs ${local.outbox.map((o) => o.seq).join(',')})`);
  for (const [coll, mine] of [[COLL, local.docs], ['_conflicts', local.conflicts]] as const) {
    const theirs = liveDocs(server, coll);
    for (const [id, d] of theirs) {
      const l = mine[id];
      if (!l) {
        out.push(`${name}: ${coll}/${id} (v${d.v}) is on the server but not here`);
        continue;
      }
      const { _v, ...rest } = l;
      if (_v !== d.v) out.push(`${name}: ${coll}/${id} has _v ${String(_v)}, the server v${d.v}`);
      if (!jsonEqual(rest, d.doc)) out.push(`${name}: ${coll}/${id} differs: local ${JSON.stringify(rest)} server ${JSON.stringify(d.doc)}`);
    }
    for (const id of Object.keys(mine)) if (!theirs.has(id)) out.push(`${name}: ${coll}/${id} is here but not live on the server (${server.docs.has(`${coll}/${id}`) ? 'deleted there' : 'unknown there'})`);
  }
  return out;
}

function sideValues(record: Record<string, unknown>, field: string): { value?: unknown; unset?: boolean; deleted?: boolean }[] {
  const fields = record.fields as Record<string, { winner: Record<string, unknown>; loser: Record<string, unknown> }> | undefined;
  const pair = fields?.[field];
  return pair ? [pair.winner, pair.loser] : [];
}

/** Every write of `log` whose effect is missing from the server's final state (empty = none). */
export function lostWrites(log: WriteLog, server: ServerState): string[] {
  const conflicts = [...liveDocs(server, '_conflicts').values()].map((d) => d.doc!);
  const out: string[] = [];
  log.records.forEach((w, at) => {
    if (w.coll === '_conflicts') return;
    const cur = server.docs.get(`${w.coll}/${w.id}`)?.doc ?? null;
    const mine = conflicts.filter((c) => c.coll === w.coll && c.docId === w.id);
    // Only writes made after this one (the log is in write order) can have replaced it.
    const others = log.records.filter((o, i) => i > at && o.coll === w.coll && o.id === w.id);
    const sameReplicaLater = (o: WriteRecord): boolean => o.replica === w.replica && o.seq > w.seq;
    if (w.kind === 'del') {
      if (cur === null) return;
      if (others.some((o) => sameReplicaLater(o) || (o.replica !== w.replica && o.kind !== 'del' && o.before === null))) return;
      out.push(`delete of ${w.coll}/${w.id} by ${w.replica.slice(0, 6)} seq ${w.seq} was undone: the document is live on the server`);
      return;
    }
    for (const [f, value] of Object.entries(w.fields)) {
      if (SYSTEM.has(f)) continue;
      const isUnset = value === UNSET;
      if (cur && (isUnset ? !(f in cur) : f in cur && jsonEqual(cur[f], value))) continue;
      if (mine.some((c) => sideValues(c, f).some((s) => (isUnset ? s.unset === true : s.value !== undefined && jsonEqual(s.value, value))))) continue;
      const overwritten = others.some((o) => {
        const touches = o.kind !== 'patch' || f in o.fields;
        if (!touches) return false;
        if (sameReplicaLater(o)) return true;
        if (o.replica === w.replica || o.before === null) return false;
        return isUnset ? !(f in o.before) : f in o.before && jsonEqual(o.before[f], value);
      });
      if (overwritten) continue;
      out.push(`${w.kind} of ${w.coll}/${w.id}.${f} = ${JSON.stringify(isUnset ? '<unset>' : value)} by ${w.replica.slice(0, 6)} seq ${w.seq} is lost (server: ${JSON.stringify(cur)}; conflicts: ${JSON.stringify(mine.map((c) => c.fields))})`);
    }
  });
  return out;
}

export interface Converged {
  server: ServerState;
  rounds: number;
}

/**
 * Syncs every replica in rounds until each holds exactly the server's state with nothing
 * pending (bounded by `deadlineMs`), then checks that no acknowledged write is lost.
 * `snapshots` gives the local state of replicas that are not in-process objects.
 */
export async function converge(
  serverUrl: () => string,
  replicas: Replica[],
  log: WriteLog,
  opts: { deadlineMs?: number; extra?: { name: string; sync: () => Promise<void>; snapshot: () => Promise<LocalSnapshot> }[] } = {},
): Promise<Converged> {
  const deadline = Date.now() + (opts.deadlineMs ?? 30_000);
  const extra = opts.extra ?? [];
  let diffs: string[] = [];
  for (let round = 1; round <= 200; round++) {
    for (const r of replicas) await r.sync();
    for (const x of extra) await x.sync();
    const server = await serverState(serverUrl());
    diffs = [];
    for (const r of replicas) diffs.push(...differences(r.name, await r.snapshot(), server));
    for (const x of extra) diffs.push(...differences(x.name, await x.snapshot(), server));
    if (diffs.length === 0) {
      const lost = lostWrites(log, server);
      assert.deepEqual(lost, [], `acknowledged writes are missing:\n${lost.join('\n')}`);
      return { server, rounds: round };
    }
    if (Date.now() > deadline) break;
    await sleep(Math.min(50 * round, 500));
  }
  assert.fail(`replicas did not converge:\n${diffs.slice(0, 40).join('\n')}`);
}

/** Conflict records of the server for one document. */
export function conflictsFor(server: ServerState, id: string, coll = COLL): Record<string, unknown>[] {
  return [...liveDocs(server, '_conflicts').values()].map((d) => d.doc!).filter((c) => c.coll === coll && c.docId === id);
}

/** A document's user fields (system fields removed). */
export function userFields(doc: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (!doc) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!SYSTEM.has(k) || k === '_id') out[k] = v;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The sync server as a child process (node dist/server.js)

export class ServerProcess {
  proc: ChildProcess | null = null;
  url = '';
  stderr = '';

  /** `script`: the server's CLI bundle (another version's, for compatibility tests). */
  constructor(readonly dataDir: string, readonly args: string[] = [], readonly script = SERVER_JS) {}

  /**
   * In a PostgreSQL run (WISEJSON_TEST_STORE=postgres): the database standing for `dataDir`,
   * unless the test set one of its own.
   */
  databaseUrl: string | null = null;

  async start(): Promise<string> {
    // Another version's server (compatibility tests) keeps its data folder.
    if (this.script === SERVER_JS) this.databaseUrl ??= await testDatabaseUrl(this.dataDir);
    const store = this.databaseUrl ? ['--database-url', this.databaseUrl] : ['--data', this.dataDir];
    const proc = spawn(process.execPath, [this.script, '--host', '127.0.0.1', '--port', '0', ...store, '--api-key', KEY, '--no-access-log', '--purge-interval-sec', '0', ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stderr!.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString()).slice(-20_000);
    });
    let out = '';
    this.url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server did not start within 30 s: ${this.stderr}`)), 30_000);
      proc.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`server exited with ${code} before listening: ${this.stderr}`));
      });
    });
    proc.stdout!.resume();
    return this.url;
  }

  /** kill -9, and wait until it is gone. */
  async kill9(): Promise<void> {
    await killAndWait(this.proc, 'SIGKILL');
    this.proc = null;
  }

  /** Graceful stop (SIGTERM). */
  async stop(): Promise<void> {
    await killAndWait(this.proc, 'SIGTERM');
    this.proc = null;
  }
}

export async function killAndWait(proc: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill(signal);
  const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

// ---------------------------------------------------------------------------------------------
// Replicas in child processes (fixtures/replica-worker.ts)

export interface WorkerConfig {
  dir: string;
  url: string;
  key?: string;
  dataset?: string;
  pullLimit?: number;
  timeoutMs?: number;
  /** Added to Date.now() in the child: a wrong wall clock. */
  skewMs?: number;
  syncIntervalMs?: number;
  /** Enable sync (default true). */
  sync?: boolean;
}

export interface WorkerMessage {
  type: string;
  [k: string]: unknown;
}

export class ReplicaProcess {
  proc: ChildProcess;
  readonly messages: WorkerMessage[] = [];
  replicaId = '';
  stderr = '';
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly config: WorkerConfig, readonly log: WriteLog | null) {
    this.proc = fork(WORKER_JS, [JSON.stringify({ key: KEY, dataset: DS, ...config })], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.proc.stderr!.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString()).slice(-20_000);
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`worker exited (${code ?? signal}): ${this.stderr}`));
      this.waiting.clear();
      resolve({ code, signal });
    }));
    this.proc.on('message', (m: WorkerMessage) => {
      this.messages.push(m);
      if (m.type === 'ready') this.replicaId = String(m.replicaId);
      if (m.type === 'wrote' && this.log) this.log.add(m.records as WriteRecord[]);
      if (m.type === 'reply') {
        const w = this.waiting.get(Number(m.callId));
        if (!w) return;
        this.waiting.delete(Number(m.callId));
        if (m.error) w.reject(new Error(String(m.error)));
        else w.resolve(m.result);
      }
    });
  }

  static async start(config: WorkerConfig, log: WriteLog | null): Promise<ReplicaProcess> {
    const p = new ReplicaProcess(config, log);
    await p.waitFor('ready', 30_000);
    return p;
  }

  /** Resolves with the first message of `type` (already received or future). */
  waitFor(type: string, ms = 30_000, pred: (m: WorkerMessage) => boolean = () => true): Promise<WorkerMessage> {
    return waitFor<WorkerMessage | undefined>(`worker message ${type}`, () => {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`worker exited while waiting for ${type}: ${this.stderr}`);
      return this.messages.find((m) => m.type === type && pred(m));
    }, ms, 10) as Promise<WorkerMessage>;
  }

  count(type: string, pred: (m: WorkerMessage) => boolean = () => true): number {
    return this.messages.filter((m) => m.type === type && pred(m)).length;
  }

  call<T = unknown>(cmd: string, args: Record<string, unknown> = {}, ms = 60_000): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`worker call ${cmd} timed out: ${this.stderr}`));
      }, ms);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(t);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.proc.send({ ...args, callId: id, cmd });
    });
  }

  snapshot(): Promise<LocalSnapshot> {
    return this.call<LocalSnapshot>('snapshot');
  }

  async kill9(): Promise<void> {
    await killAndWait(this.proc, 'SIGKILL');
  }

  /** Closes the database and exits. */
  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await this.call('close').catch(() => undefined);
    await Promise.race([this.exited, sleep(15_000)]);
    await killAndWait(this.proc, 'SIGKILL');
  }
}
