#!/usr/bin/env node
// Sync benchmark: the real sync server (dist/server.js) and the real sync client (dist/wise-json.js),
// each in its own process, over HTTP on 127.0.0.1.
//
//   npm run bench:sync                      build, then the full run (~2.5-3 min on 2 cores)
//   node test/bench/sync.mjs [--quick]      no build; --quick = 10x smaller sizes (~20 s)
//   options: --keep (keep the temp dir: data folders, profiles)
//            --timeout=<s> per client run (default 180; a hung sync is killed and reported)
//            --no-profile (skip the profiled re-runs at the end)
//
// Scenarios (sizes for the full run; --quick divides the document counts by 10):
//   1. push 10k: a client database gets 10k ~1 KiB documents (insertMany with sync enabled, not
//      measured), then `await col.triggerSync()` is measured: push of the 10k ops, and the pull
//      that follows in the same cycle. Then the same with the client of the release before own
//      changes (d6711cf, built from git history): the old way, side by side.
//      Budget (#25): the seeding run's pull after its push of 100k < 2 % of the push's bytes.
//   2. initial sync 100k: a seeding client pushes 100k ~1 KiB documents (not part of the budgets;
//      its figures are reported as an extra column); the server is restarted (so it holds them as
//      a server does after a restart); then a fresh client database with sync enabled runs
//      `triggerSync()` from scratch.
//      Budgets: < 30 s, < 400 MB peak client RSS (#25's targets, < 8 s and < 250 MB, reported
//      too). Then the same initial sync with the previous release's client (the old way).
//   4. live: a writer and a reader process, each with its own database and live sync (the
//      default), 50 writes one at a time: from just before the insert to the reader having it.
//      Then 1,000 live requests held open at once on one server: its RSS growth and /v1/health's
//      latency meanwhile. Budgets: median < 25 ms; RSS growth < 100 MB; /v1/health < 100 ms.
//   3. resume: the same initial sync in a fresh folder, SIGKILLed after 40 % of the data pages
//      scenario 2 needed (counted in the server's access log), then started again on the same
//      folder. Budget: bytes downloaded by both runs <= 1.10 x those of scenario 2's run.
//
//   Unless --no-profile, the seeding client runs under `node --cpu-prof`, and at the end
//   scenarios 2 and 1 run once more with client and server under `node --cpu-prof` (not
//   measured); a summary of where the time goes (by source file and function, mapped back to
//   src/ through the bundles' source maps) goes into the report.
//
// Measured per run: wall time of triggerSync(), HTTP requests (server access log: one JSON line
// per request), bytes up/down on the wire (a counting TCP proxy on 127.0.0.1 between client and
// server; HTTP headers included) and as bodies (access log bytesIn/bytesOut), peak RSS of the
// client (kernel VmHWM reset just before triggerSync, and process.memoryUsage().rss sampled every
// 10 ms) and of the server (/proc/<pid>/status VmHWM, reset through /proc/<pid>/clear_refs at the
// start of the run, and VmRSS sampled every 20 ms), CPU time of both. Nothing is retried or worked around: errors, hangs and
// missed budgets are reported as they happened.
//
// Files: sync.mjs (this runner), sync/client.mjs (client process), sync/server.mjs (server
// process, access log, counting proxy), sync/docs.mjs (documents), sync/proc.mjs (/proc),
// sync/profile.mjs (cpu profile summary), sync/report.mjs (markdown + json).
// Results: test/bench/sync-results.md and test/bench/sync-results.json (overwritten).
import { execFileSync, fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { docBytes, idOf } from './sync/docs.mjs';
import { CountingProxy, ServerProcess, changesQuery, summarizeLog } from './sync/server.mjs';
import { summarizeProfile } from './sync/profile.mjs';
import { liveLatency, liveLoad } from './sync/live.mjs';
import { nextMessage } from './sync/messages.mjs';
import { writeSyncReports } from './sync/report.mjs';
import { machineInfo } from './report.mjs';
import { dirSizeMB } from './disk.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const CLIENT = join(HERE, 'sync', 'client.mjs');
const DIST_LIB = join(ROOT, 'dist', 'wise-json.js');
const DIST_SERVER = join(ROOT, 'dist', 'server.js');

// ---------------------------------------------------------------------------------------------
// arguments

const argv = process.argv.slice(2);
for (const a of argv) {
  if (!/^--(quick|keep|no-profile|timeout=\d+)$/.test(a)) {
    console.error(`unknown argument ${a}\nusage: node test/bench/sync.mjs [--quick] [--keep] [--no-profile] [--timeout=<s>]`);
    process.exit(2);
  }
}
const quick = argv.includes('--quick');
const keep = argv.includes('--keep');
const profile = !argv.includes('--no-profile');
const clientTimeoutMs = Number(argv.find((a) => a.startsWith('--timeout='))?.slice(10) ?? 180) * 1000;

for (const f of [DIST_LIB, DIST_SERVER]) {
  if (!existsSync(f)) {
    console.error(`\nERROR: ${f} does not exist. Build first: npm run build (npm run bench:sync builds, then runs this).\n`);
    process.exit(1);
  }
}

const f = quick ? 10 : 1;
const S = {
  pushDocs: 10_000 / f,
  initialDocs: 100_000 / f,
  insertBatch: 1_000,
  killFraction: 0.4,
  liveWrites: quick ? 20 : 50,
  liveRequests: quick ? 200 : 1_000,
  budgets: {
    initialSyncSeconds: 30,
    initialSyncClientRssMB: 400,
    // Issue #25: each document crosses the wire once; a first sync of 100k in seconds.
    pullAfterPushRatio: 0.02,
    initialSyncTargetSeconds: 8,
    initialSyncTargetRssMB: 250,
    resumeBytesRatio: 1.10,
    liveMedianMs: 25,
    liveRssGrowthMB: 100,
    liveHealthMaxMs: 100,
    pgServerRssMB: 120,
    pgStartSeconds: 1,
    pgPushRatio: 0.7,
    // Issue #26: several instances on one PostgreSQL database.
    instancesTwoVsOne: 1.0,
    crossInstanceWakeMs: 50,
    instanceRssWith1MMB: 120,
  },
  instances: [1, 2, 4],
  instancesDocs: 10_000 / f,
  bigDocs: 1_000_000 / f,
};
const COLL = 'bench';
const DATASET = 'bench';
const API_KEY = `bench-${randomBytes(16).toString('hex')}`;

const RUN_DIR = mkdtempSync(join(tmpdir(), 'wisejson-syncbench-'));
const started = Date.now();
const log = (...a) => console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s]`, ...a);

// Every process of this run uses the same build: snapshot it (the lead may rebuild meanwhile).
const BUILD = join(RUN_DIR, 'build');
mkdirSync(BUILD);
const LIB = join(BUILD, 'wise-json.js');
const SERVER_JS = join(BUILD, 'server.js');
for (const [from, to] of [[DIST_LIB, LIB], [DIST_SERVER, SERVER_JS]]) {
  copyFileSync(from, to);
  if (existsSync(`${from}.map`)) copyFileSync(`${from}.map`, `${to}.map`);
}
const git = (...a) => { try { return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { return null; } };
const sha = (file) => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);
const build = {
  lib: { mtime: statSync(DIST_LIB).mtime.toISOString(), sha256: sha(LIB) },
  server: { mtime: statSync(DIST_SERVER).mtime.toISOString(), sha256: sha(SERVER_JS) },
  gitHead: git('rev-parse', '--short', 'HEAD'),
  srcDirty: Boolean(git('status', '--porcelain', '--', 'src')),
};

// ---------------------------------------------------------------------------------------------
// child processes: cleanup on every exit path

const children = new Set();
let proxy = null;
let cleaning = null;
function cleanup() {
  cleaning ??= cleanupNow();
  return cleaning;
}
async function cleanupNow() {
  for (const c of children) c.kill();
  for (const s of [...ServerProcess.live]) await s.stop(10_000).catch(() => s.kill());
  if (proxy) await proxy.close().catch(() => {});
  if (!keep) rmSync(RUN_DIR, { recursive: true, force: true });
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${sig}: stopping children, removing ${RUN_DIR}`);
    void cleanup().finally(() => process.exit(130));
  });
}

class Client {
  constructor(label, params, { profileDir } = {}) {
    this.label = label;
    this.messages = [];
    this.waiters = new Set();
    this.stderr = '';
    this.exit = null;
    this.proc = fork(CLIENT, [JSON.stringify({ dist: LIB, collection: COLL, dataset: DATASET, apiKey: API_KEY, batch: S.insertBatch, ...params })], {
      execArgv: ['--expose-gc', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    children.add(this);
    const relay = (name) => (chunk) => {
      const text = chunk.toString();
      if (name === 'stderr') this.stderr = (this.stderr + text).slice(-8000);
      for (const line of text.split('\n')) if (line.trim()) log(`  [${label} ${name}] ${line}`);
    };
    this.proc.stdout.on('data', relay('stdout'));
    this.proc.stderr.on('data', relay('stderr'));
    this.proc.on('message', (m) => {
      if (m?.event === 'sync:error') log(`  [${label}] sync:error ${m.error.code}: ${m.error.message}`);
      this.messages.push(m);
      for (const w of [...this.waiters]) w();
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => {
      this.exit = { code, signal };
      children.delete(this);
      for (const w of [...this.waiters]) w();
      resolve(this.exit);
    }));
  }

  describeExit() {
    const tail = this.stderr.trim() ? `; stderr: ${this.stderr.trim().split('\n').slice(-6).join(' | ')}` : '';
    return `client ${this.label} exited (code ${this.exit.code}, signal ${this.exit.signal})${tail}`;
  }

  /** Next message matching `pred`; rejects on a failure message, on exit, or after `timeoutMs` (then kills). */
  next(pred, timeoutMs, what) { return nextMessage(this, pred, timeoutMs, what); }

  send(m) { this.proc.send(m); }
  kill(signal = 'SIGKILL') { if (!this.exit) this.proc.kill(signal); }
}

// ---------------------------------------------------------------------------------------------
// 6. several server instances on one PostgreSQL database (issue #26)

/** A client run through `url` (no meters but its own): its result. */
async function plainRun(label, url, params) {
  const c = new Client(label, { url, waitGo: true, ...params });
  await c.next((m) => m.event === 'prepared', clientTimeoutMs, '"prepared"');
  c.send({ cmd: 'go' });
  const { result } = await c.next((x) => x.ok === true, clientTimeoutMs, 'sync result');
  await Promise.race([c.exited, sleep(15_000)]);
  c.kill();
  if (result.events.errors.length > 0) throw new Error(`${label}: sync:error ${result.events.errors.map((e) => e.code).join(', ')}`);
  return result;
}

/**
 * Push and pull through a round-robin proxy in front of 1, 2 and 4 instances; a write through
 * one instance seen by a live reader on another; one instance's RSS with 1M documents in the
 * database (seeded with SQL, not through a client) while it serves pulls and a push.
 */
async function instancesScenario(cluster) {
  const { RoundRobinProxy } = await import(pathToFileURL(join(ROOT, 'out', 'test', 'postgres', 'round-robin-proxy.js')).href).then((m) => m.default ?? m);
  const out = { runs: [] };
  const start = async (url, n, label) => {
    const servers = [];
    for (let i = 0; i < n; i++) servers.push(await ServerProcess.start({ serverJs: SERVER_JS, databaseUrl: url, apiKey: API_KEY, label: `${label}-${i}`, log }));
    return servers;
  };
  for (const n of S.instances) {
    const url = await cluster.createDatabase();
    const servers = await start(url, n, `server-pg-x${n}`);
    const rr = await RoundRobinProxy.start(servers.map((s) => s.url));
    try {
      // Warm-up into another dataset, so that every instance has compiled its code and opened its
      // connections: what is compared is steady serving, not N processes starting cold.
      await plainRun(`pg-x${n}-warmup`, rr.url, { dir: join(RUN_DIR, `client-pg-x${n}-warmup`), insert: Math.min(2_000, S.instancesDocs), prefix: 'w', dataset: `${DATASET}-warmup` });
      rr.forwarded.fill(0);
      const push = await plainRun(`pg-x${n}-push`, rr.url, { dir: join(RUN_DIR, `client-pg-x${n}-push`), insert: S.instancesDocs, prefix: 'p' });
      const pull = await plainRun(`pg-x${n}-pull`, rr.url, { dir: join(RUN_DIR, `client-pg-x${n}-pull`), insert: 0, prefix: 'p' });
      if (pull.count !== S.instancesDocs) throw new Error(`${n} instances: the pulling client holds ${pull.count} of ${S.instancesDocs} documents`);
      const run = { instances: n, pushMs: push.syncMs, pullMs: pull.syncMs, requestsPerInstance: rr.forwarded.slice(), instanceRssMB: servers.map((s) => s.rssMB()) };
      out.runs.push(run);
      log(`6. PostgreSQL, ${n} instance(s) behind a round-robin proxy: push ${S.instancesDocs} ${(push.syncMs / 1000).toFixed(2)} s, pull ${(pull.syncMs / 1000).toFixed(2)} s (requests per instance ${run.requestsPerInstance.join('/')})`);
      if (n === 2) {
        out.wake = await liveLatency({ lib: LIB, url: servers[0].url, readerUrl: servers[1].url, apiKey: API_KEY, dataset: 'live', collection: COLL, runDir: RUN_DIR, writes: S.liveWrites, children, log, label: '6. cross-instance wake', dirSuffix: '-x2' });
      }
    } finally {
      await rr.close();
      for (const s of servers) await s.stop();
    }
  }

  // One instance, 1M documents of ~1 KiB in the database.
  const url = await cluster.createDatabase();
  let servers = await start(url, 1, 'server-pg-big');
  await servers[0].stop(); // the schema, created by the server's first start
  const t0 = performance.now();
  const pg = await import('pg').then((m) => m.default ?? m);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    await db.query(`INSERT INTO wj_datasets (name, epoch, head, horizon, epoch_start, secret) VALUES ($1, 'e_0123456789abcdef', $2, 0, 0, $3)`, [DATASET, S.bigDocs, randomBytes(32).toString('hex')]);
    // Rows as a push writes them: the body ~1 KiB of JSON, a stamp per field.
    await db.query(`INSERT INTO wj_docs (dataset, key, coll, v, del, del_at, id, body, fs, hlc, origin, oseq, sole)
      SELECT $1, md5('b' || g), $2, g, false, NULL, '"b' || g || '"',
        '{"_id":"b' || g || '","n":' || g || ',"title":"document ' || g || '","text":"' || repeat(md5(g::text), 29) || '"}',
        '{"n":{"h":"' || lpad(g::text, 16, '0') || ':0000:seed","v":' || g || ',"o":"seed","s":' || g || '}}',
        lpad(g::text, 16, '0') || ':0000:seed', 'seed', g, false
      FROM generate_series(1, $3::bigint) AS g`, [DATASET, COLL, S.bigDocs]);
    await db.query('INSERT INTO wj_collections (dataset, coll, head, rows) VALUES ($1, $2, $3, $3)', [DATASET, COLL, S.bigDocs]);
    await db.query('ANALYZE');
  } finally {
    await db.end();
  }
  const seedMs = performance.now() - t0;
  servers = await start(url, 1, 'server-pg-big');
  const server = servers[0];
  try {
    const rssAtStartMB = server.rssAtStartMB;
    server.resetPeak();
    server.startSampling();
    // Serve 100k changes of the 1M in pages of 500 (a client's first pages), then a push of 10k.
    const pages = Math.ceil(S.initialDocs / 500);
    let since = '0';
    const t1 = performance.now();
    for (let i = 0; i < pages; i++) {
      const res = await fetch(`${server.url}/v1/datasets/${DATASET}/changes?since=${encodeURIComponent(since)}&limit=500`, { headers: { authorization: `Bearer ${API_KEY}`, 'sync-protocol': '1', 'accept-encoding': 'gzip' } });
      if (res.status !== 200) throw new Error(`changes answered ${res.status}`);
      since = (await res.json()).checkpoint;
    }
    const pullMs = performance.now() - t1;
    const pullPeakMB = server.peakMB();
    // (Into another dataset of the same database: a client pushing into the 1M-document one would
    // first pull all of it in the same cycle.)
    const push = await plainRun('pg-big-push', server.url, { dir: join(RUN_DIR, 'client-pg-big-push'), insert: S.pushDocs, prefix: 'q', dataset: `${DATASET}-push` });
    out.big = { docs: S.bigDocs, seedMs, rssAtStartMB, pulled: pages * 500, pullMs, pullPeakMB, pushMs: push.syncMs, peakMB: server.peakMB(), sampledMaxMB: server.stopSampling(), rssEndMB: server.rssMB() };
    log(`6. PostgreSQL with ${S.bigDocs} documents (seeded with SQL in ${(seedMs / 1000).toFixed(1)} s): instance RSS ${rssAtStartMB.toFixed(0)} MB at start, peak ${pullPeakMB.toFixed(0)} MB while serving ${pages * 500} changes (${(pullMs / 1000).toFixed(2)} s), ${out.big.peakMB.toFixed(0)} MB after a push of ${S.pushDocs} into another dataset (${(push.syncMs / 1000).toFixed(2)} s)`);
  } finally {
    await server.stop();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// one measured client run

/**
 * Runs a client through `prepared`, resets the meters, lets it sync, and returns the client's
 * own result plus what the server and the proxy saw during the sync. `onEntry(entry, client)`
 * sees every access-log line of the run (used to SIGKILL the client mid-sync).
 */
async function measuredRun(label, server, params, { onEntry, profileDir, expectKill = false, timeoutMs = clientTimeoutMs } = {}) {
  const c = new Client(label, { url: proxy.url, waitGo: true, ...params }, { profileDir });
  const out = { label };
  let unsubscribe = () => {};
  try {
    const prepared = await c.next((m) => m.event === 'prepared', timeoutMs, '"prepared"');
    out.prepared = prepared;
    const entry0 = server.entries.length;
    const proxy0 = proxy.snapshot();
    out.serverHwmReset = server.resetPeak();
    const serverCpu0 = server.cpuMs();
    const serverRss0 = server.rssMB();
    server.startSampling();
    if (onEntry) unsubscribe = server.onEntry((e) => onEntry(e, c));
    const t0 = performance.now();
    c.goAt = t0;
    c.send({ cmd: 'go' });
    let result = null;
    try {
      const m = await c.next((x) => x.ok === true, timeoutMs, 'sync result');
      result = m.result;
    } catch (err) {
      if (!expectKill || c.exit?.signal !== 'SIGKILL') throw err;
    }
    out.wallMs = performance.now() - t0;
    await server.settle();
    unsubscribe();
    const p1 = proxy.snapshot();
    const entries = server.entries.slice(entry0);
    out.client = result;
    out.log = summarizeLog(entries);
    out.entries = entries;
    out.wire = { up: p1.up - proxy0.up, down: p1.down - proxy0.down, connections: p1.connections - proxy0.connections, gzipAccepted: p1.gzipAccepted - proxy0.gzipAccepted, gzipped: p1.gzipped - proxy0.gzipped };
    out.server = { peakMB: server.peakMB(), sampledMaxMB: server.stopSampling(), rssStartMB: serverRss0, rssEndMB: server.rssMB(), cpuMs: server.cpuMs() - serverCpu0 };
    const exit = await Promise.race([c.exited, sleep(15_000).then(() => null)]);
    if (!exit) { c.kill(); out.exit = { lingering: 'client did not exit within 15 s of its result; killed' }; }
    else out.exit = exit;
    if (exit && exit.code === 3) out.exit.lingering = c.stderr.match(/LINGERING:.*/)?.[0];
    return out;
  } catch (err) {
    unsubscribe();
    server.stopSampling();
    c.kill();
    out.error = err.message;
    log(`${label}: FAILED: ${err.message}`);
    await server.settle().catch(() => {});
    return out;
  }
}


/** Size of the newest checkpoint of an engine database folder (the whole state at one LSN), MB. */
function checkpointMB(dbDir) {
  try {
    const dir = join(dbDir, 'checkpoints');
    const files = readdirSync(dir).filter((x) => x.endsWith('.ckpt')).map((x) => statSync(join(dir, x)));
    files.sort((a, b) => b.mtimeMs - a.mtimeMs);
    return files.length ? Math.round((files[0].size / 1048576) * 10) / 10 : null;
  } catch {
    return null;
  }
}

/** The first page of changes, straight from the server, identity vs gzip: body sizes. */
async function gzipProbe(url) {
  const get = (gzip) => new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/v1/datasets/${DATASET}/changes?since=0&limit=1000&colls=${COLL}`, {
      headers: { authorization: `Bearer ${API_KEY}`, 'sync-protocol': '1', ...(gzip ? { 'accept-encoding': 'gzip' } : {}) },
    }, (res) => {
      let n = 0;
      res.on('data', (c) => { n += c.length; });
      res.on('end', () => resolve({ status: res.statusCode, bytes: n, encoding: res.headers['content-encoding'] ?? 'identity' }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  const identity = await get(false);
  const gzip = await get(true);
  return { identity, gzip, ratio: gzip.bytes / identity.bytes };
}

function latestProfile(dir) {
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir).filter((x) => x.endsWith('.cpuprofile')).map((x) => join(dir, x));
  files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return files[0] ?? null;
}

function profileOf(dir) {
  const f = latestProfile(dir);
  try { return f ? summarizeProfile(f) : null; } catch (err) { return { error: err.message }; }
}

/** Correctness checks of a run: each {what, ok, detail}. */
function checks(run, { n, expectPushOps = null, expectEmptyOutbox = true }) {
  const out = [];
  const add = (what, ok, detail = '') => out.push({ what, ok: Boolean(ok), detail });
  if (run.error) { add('run completed', false, run.error); return out; }
  const r = run.client;
  add('no sync:error', r.events.errors.length === 0, r.events.errors.map((e) => `${e.code}: ${e.message}`).join('; '));
  add('no error responses', run.log.errors.length === 0, run.log.errors.map((e) => `${e.status} ${e.code ?? ''} ${e.path}`).join('; '));
  add(`client holds ${n} documents`, r.count === n, `count() = ${r.count}`);
  if (expectEmptyOutbox) add('outbox empty after the sync', r.status.pending === 0, `pending = ${r.status.pending}`);
  if (expectPushOps !== null) add(`server received ${expectPushOps} ops`, run.log.ops === expectPushOps, `ops in push requests = ${run.log.ops}`);
  if (r.missing.length || r.unversioned.length) add('sampled documents present with _v', false, `missing ${r.missing.length}, without _v ${r.unversioned.length}`);
  else add('sampled documents present with _v', true);
  add('client exits on its own after close()', run.exit && run.exit.code === 0, run.exit?.lingering ?? `exit ${JSON.stringify(run.exit)}`);
  return out;
}

const sampleIds = (prefix, n) => Array.from({ length: 20 }, (_, k) => idOf(prefix, Math.floor((k * (n - 1)) / 19)));

// ---------------------------------------------------------------------------------------------

const results = { push: null, pushPrevious: null, seed: null, initial: null, initialPrevious: null, resume: null, live: null, postgres: null };

// The release before own changes (#25), built from git history, for the old-way columns.
const PREVIOUS = 'd6711cf';
let PREVIOUS_LIB = null;
try {
  const { buildPrevious } = await import(pathToFileURL(join(ROOT, 'out', 'test', 'sync', 'previous-release.js')).href).then((m) => m.default ?? m);
  const dir = join(RUN_DIR, 'previous');
  mkdirSync(dir);
  PREVIOUS_LIB = (await buildPrevious(PREVIOUS, dir)).library;
} catch (err) {
  log(`the previous release (${PREVIOUS}) could not be built, its columns are left out: ${err.message}`);
}
let exitCode = 0;
const loadStart = loadavg().map((x) => Math.round(x * 100) / 100);
try {
  log(`WiseJSON sync bench${quick ? ' (--quick)' : ''}: push ${S.pushDocs}, initial sync ${S.initialDocs} docs of ~${docBytes('s') + 80} B; data in ${RUN_DIR}`);

  // ---- 1. push -------------------------------------------------------------------------------
  {
    const server = await ServerProcess.start({ serverJs: SERVER_JS, dataDir: join(RUN_DIR, 'server-push'), apiKey: API_KEY, label: 'server-push', log });
    proxy = await CountingProxy.start(server.port);
    log(`1. push: server pid ${server.pid} on ${server.url} (proxy ${proxy.url})`);
    const run = await measuredRun('push', server, { dir: join(RUN_DIR, 'client-push'), insert: S.pushDocs, prefix: 'p', expectIds: sampleIds('p', S.pushDocs) });
    run.checks = checks(run, { n: S.pushDocs, expectPushOps: S.pushDocs });
    results.push = run;
    if (!run.error) log(`1. push ${S.pushDocs}: ${(run.client.syncMs / 1000).toFixed(2)} s, ${run.log.requests} requests (${run.log.push} push, ${run.log.changes} changes), up ${(run.wire.up / 1048576).toFixed(1)} MB, down ${(run.wire.down / 1048576).toFixed(1)} MB, client peak ${run.client.vmHwmMB.toFixed(0)} MB, server peak ${run.server.peakMB.toFixed(0)} MB`);
    if (PREVIOUS_LIB) {
      // The old way: the previous release's client, same documents, its own dataset.
      const prev = await measuredRun('push-previous', server, { dist: PREVIOUS_LIB, dataset: 'bench-previous', dir: join(RUN_DIR, 'client-push-previous'), insert: S.pushDocs, prefix: 'p', expectIds: sampleIds('p', S.pushDocs) });
      prev.checks = checks(prev, { n: S.pushDocs, expectPushOps: S.pushDocs });
      results.pushPrevious = prev;
      if (!prev.error) log(`1. push ${S.pushDocs}, previous release's client: up ${(prev.wire.up / 1048576).toFixed(1)} MB, down ${(prev.wire.down / 1048576).toFixed(1)} MB`);
    }
    const stop = await server.stop();
    if (stop.code !== 0) log(`server-push: exit ${JSON.stringify(stop)}`);
    results.push.serverStop = stop;
  }

  // ---- 2. seed, restart, initial sync ---------------------------------------------------------
  {
    const dataDir = join(RUN_DIR, 'server-main');
    let server = await ServerProcess.start({ serverJs: SERVER_JS, dataDir, apiKey: API_KEY, label: 'server-seed', log });
    proxy.retarget(server.port);
    log(`2. seeding ${S.initialDocs} docs through a client (not part of the budgets; its figures are reported for information)…`);
    const t0 = performance.now();
    const seedProfile = profile ? join(RUN_DIR, 'profiles', 'client-seed') : null;
    const seeded = await measuredRun('seed', server, { dir: join(RUN_DIR, 'client-seed'), insert: S.initialDocs, prefix: 's' }, { timeoutMs: 900_000, profileDir: seedProfile });
    if (seedProfile) seeded.profile = profileOf(seedProfile);
    const seedMs = performance.now() - t0;
    seeded.checks = checks(seeded, { n: S.initialDocs, expectPushOps: S.initialDocs });
    results.seed = seeded;
    seeded.ms = seedMs;
    if (seeded.error) throw new Error(`seeding failed: ${seeded.error}`);
    log(`   seeded in ${(seedMs / 1000).toFixed(1)} s (insert ${(seeded.prepared.insertMs / 1000).toFixed(1)} s, triggerSync ${(seeded.client.syncMs / 1000).toFixed(1)} s: ${seeded.log.push} pushes with ${seeded.log.ops} ops)`);
    if (seeded.log.ops !== S.initialDocs) throw new Error(`seeding failed: the server received ${seeded.log.ops} of ${S.initialDocs} ops; errors: ${seeded.client.events.errors.map((e) => e.code + ' ' + e.message).join('; ')}`);
    results.seed.serverRssMB = server.rssMB();
    results.seed.serverPeakMB = server.peakMB();
    const stop = await server.stop();
    results.seed.serverStop = stop;
    results.seed.serverDiskMB = dirSizeMB(join(dataDir, 'db'));
    results.seed.serverCheckpointMB = checkpointMB(join(dataDir, 'db'));
    results.seed.clientDiskMB = dirSizeMB(join(RUN_DIR, 'client-seed'));
    server = await ServerProcess.start({ serverJs: SERVER_JS, dataDir, apiKey: API_KEY, label: 'server', log });
    proxy.retarget(server.port);
    results.seed.serverRestart = { ms: server.startMs, rssMB: server.rssAtStartMB };
    log(`   server restarted with ${S.initialDocs} docs in ${(server.startMs / 1000).toFixed(2)} s, RSS ${server.rssAtStartMB.toFixed(0)} MB (data on disk ${results.seed.serverDiskMB} MB)`);

    const run = await measuredRun('initial', server, { dir: join(RUN_DIR, 'client-initial'), insert: 0, prefix: 's', expectIds: sampleIds('s', S.initialDocs) });
    run.checks = checks(run, { n: S.initialDocs });
    run.clientDiskMB = dirSizeMB(join(RUN_DIR, 'client-initial'));
    run.clientCheckpointMB = checkpointMB(join(RUN_DIR, 'client-initial'));
    results.initial = run;
    if (!run.error) {
      log(`2. initial sync ${S.initialDocs}: ${(run.client.syncMs / 1000).toFixed(2)} s, ${run.log.requests} requests (${run.log.dataPages} data pages, ${run.log.emptyPages} empty), down ${(run.wire.down / 1048576).toFixed(1)} MB, client peak ${run.client.vmHwmMB.toFixed(0)} MB (sampled ${run.client.maxRssSampledMB.toFixed(0)}), server peak ${run.server.peakMB.toFixed(0)} MB`);
    }
    if (PREVIOUS_LIB) {
      const prev = await measuredRun('initial-previous', server, { dist: PREVIOUS_LIB, dir: join(RUN_DIR, 'client-initial-previous'), insert: 0, prefix: 's', expectIds: sampleIds('s', S.initialDocs) });
      prev.checks = checks(prev, { n: S.initialDocs });
      results.initialPrevious = prev;
      if (!prev.error) log(`2. initial sync ${S.initialDocs}, previous release's client: ${(prev.client.syncMs / 1000).toFixed(2)} s, client peak ${prev.client.vmHwmMB.toFixed(0)} MB`);
    }

    // ---- 3. interrupted initial sync, resumed ------------------------------------------------
    const dataPages = run.error ? Math.ceil(S.initialDocs / 1000) : run.entries.filter((e) => e.changes > 0 && changesQuery(e).colls === COLL).length;
    const killAt = Math.max(1, Math.round(dataPages * S.killFraction));
    const dir = join(RUN_DIR, 'client-resume');
    log(`3. resume: SIGKILL the client after ${killAt} of ${dataPages} data pages, then sync again on the same folder`);
    let kill = null;
    let pages = 0;
    const first = await measuredRun('resume-1', server, { dir, insert: 0, prefix: 's' }, {
      expectKill: true,
      onEntry: (e, c) => {
        if (kill || !(e.changes > 0) || changesQuery(e).colls !== COLL) return;
        pages++;
        if (pages >= killAt) {
          kill = { afterPages: pages, atMs: performance.now() - c.goAt };
          c.kill('SIGKILL');
        }
      },
    });
    first.kill = kill;
    const second = await measuredRun('resume-2', server, { dir, insert: 0, prefix: 's', expectIds: sampleIds('s', S.initialDocs) });
    second.checks = checks(second, { n: S.initialDocs });
    const firstBench = second.entries?.find((e) => /\/changes\?/.test(e.path) && changesQuery(e).colls === COLL);
    const resumedSince = firstBench ? changesQuery(firstBench).since : null;
    const lastSince1 = [...(first.entries ?? [])].reverse().find((e) => /\/changes\?/.test(e.path) && changesQuery(e).colls === COLL);
    results.resume = {
      killAt, dataPagesUninterrupted: dataPages, first, second,
      resumedSince,
      lastPageRequestedBeforeKill: lastSince1 ? changesQuery(lastSince1).since : null,
      docsAfterKill: second.prepared?.countAtOpen ?? null,
      reopenMs: second.prepared?.openMs ?? null,
    };
    if (!first.error && !second.error) {
      log(`3. resume: killed after ${kill?.afterPages ?? '?'} pages (${first.wire.down} B down); reopened with ${second.prepared.countAtOpen} docs; run 2 started at since=${resumedSince}, ${second.wire.down} B down`);
    }

    // What gzip would save: the first page, fetched directly (not through the proxy, not counted)
    // with and without Accept-Encoding: gzip.
    results.gzipProbe = await gzipProbe(server.url).catch((err) => ({ error: err.message }));
    const stop2 = await server.stop();
    results.resume.serverStop = stop2;
  }

  // ---- 4. live sync: write → other process, and 1,000 open live requests ----------------------
  {
    const server = await ServerProcess.start({ serverJs: SERVER_JS, dataDir: join(RUN_DIR, 'server-live'), apiKey: API_KEY, label: 'server-live', log });
    log(`4. live sync: server pid ${server.pid} on ${server.url} (no proxy)`);
    results.live = {};
    try {
      results.live.latency = await liveLatency({ lib: LIB, url: server.url, apiKey: API_KEY, dataset: 'live', collection: COLL, runDir: RUN_DIR, writes: S.liveWrites, children, log });
      results.live.load = await liveLoad({ server, apiKey: API_KEY, dataset: 'live', collection: COLL, n: S.liveRequests, log });
    } catch (err) {
      results.live.error = err.message;
      log(`4. live: ${err.message}`);
    }
    results.live.serverStop = await server.stop();
  }

  // ---- 5. the same on PostgreSQL: push, seed, restart, initial sync ----------------------------
  {
    const { PostgresCluster, postgresBinDir } = await import(pathToFileURL(join(ROOT, 'out', 'test', 'postgres', 'cluster.js')).href).then((m) => m.default ?? m);
    if (!postgresBinDir()) {
      results.postgres = { skipped: 'PostgreSQL is not installed (apt-get install postgresql)' };
      log(`5. PostgreSQL: skipped (${results.postgres.skipped})`);
    } else {
      const cluster = await PostgresCluster.start();
      results.postgres = {};
      try {
        const pg = results.postgres;
        const pushUrl = await cluster.createDatabase();
        let server = await ServerProcess.start({ serverJs: SERVER_JS, databaseUrl: pushUrl, apiKey: API_KEY, label: 'server-pg-push', log });
        proxy.retarget(server.port);
        log(`5. PostgreSQL on 127.0.0.1:${cluster.port}: push ${S.pushDocs}`);
        pg.push = await measuredRun('pg-push', server, { dir: join(RUN_DIR, 'client-pg-push'), insert: S.pushDocs, prefix: 'p', expectIds: sampleIds('p', S.pushDocs) });
        pg.push.checks = checks(pg.push, { n: S.pushDocs, expectPushOps: S.pushDocs });
        await server.stop();
        const mainUrl = await cluster.createDatabase();
        server = await ServerProcess.start({ serverJs: SERVER_JS, databaseUrl: mainUrl, apiKey: API_KEY, label: 'server-pg-seed', log });
        proxy.retarget(server.port);
        log(`5. PostgreSQL: seeding ${S.initialDocs} docs…`);
        pg.seed = await measuredRun('pg-seed', server, { dir: join(RUN_DIR, 'client-pg-seed'), insert: S.initialDocs, prefix: 's' }, { timeoutMs: 900_000 });
        await server.stop();
        server = await ServerProcess.start({ serverJs: SERVER_JS, databaseUrl: mainUrl, apiKey: API_KEY, label: 'server-pg', log });
        proxy.retarget(server.port);
        pg.restart = { ms: server.startMs, rssMB: server.rssAtStartMB };
        log(`   PostgreSQL server restarted with ${S.initialDocs} docs in ${(server.startMs / 1000).toFixed(2)} s, RSS ${server.rssAtStartMB.toFixed(0)} MB`);
        pg.initial = await measuredRun('pg-initial', server, { dir: join(RUN_DIR, 'client-pg-initial'), insert: 0, prefix: 's', expectIds: sampleIds('s', S.initialDocs) });
        pg.initial.checks = checks(pg.initial, { n: S.initialDocs });
        pg.initial.serverRssAfterMB = server.rssMB();
        await server.stop();
        pg.instances = await instancesScenario(cluster);
        for (const r of [pg.push, pg.seed, pg.initial]) delete r.entries;
        if (!pg.push.error && !pg.initial.error) log(`5. PostgreSQL: push ${(pg.push.client.syncMs / 1000).toFixed(2)} s (embedded ${(results.push.client.syncMs / 1000).toFixed(2)} s); initial sync ${(pg.initial.client.syncMs / 1000).toFixed(2)} s (embedded ${(results.initial.client.syncMs / 1000).toFixed(2)} s), server peak ${pg.initial.server.peakMB.toFixed(0)} MB`);
      } catch (err) {
        results.postgres.error = err.message;
        log(`5. PostgreSQL: ${err.message}`);
      } finally {
        cluster.stop();
      }
    }
  }

  // ---- profiles (diagnostic, not measurements) ------------------------------------------------
  if (profile) {
    const profDir = join(RUN_DIR, 'profiles');
    const prof = (sub) => join(profDir, sub);
    results.profiles = {};
    log('profiles: initial sync and push again, client and server under node --cpu-prof (not measured)');
    let server = await ServerProcess.start({ serverJs: SERVER_JS, dataDir: join(RUN_DIR, 'server-main'), apiKey: API_KEY, label: 'server-prof', log, execArgv: ['--cpu-prof', `--cpu-prof-dir=${prof('server-initial')}`] });
    proxy.retarget(server.port);
    let r = await measuredRun('initial-prof', server, { dir: join(RUN_DIR, 'client-initial-prof'), insert: 0, prefix: 's' }, { profileDir: prof('client-initial') });
    await server.stop();
    results.profiles.initial = { syncMs: r.client?.syncMs, error: r.error, client: profileOf(prof('client-initial')), server: profileOf(prof('server-initial')) };
    server = await ServerProcess.start({ serverJs: SERVER_JS, dataDir: join(RUN_DIR, 'server-push-prof'), apiKey: API_KEY, label: 'server-prof', log, execArgv: ['--cpu-prof', `--cpu-prof-dir=${prof('server-push')}`] });
    proxy.retarget(server.port);
    r = await measuredRun('push-prof', server, { dir: join(RUN_DIR, 'client-push-prof'), insert: S.pushDocs, prefix: 'p' }, { profileDir: prof('client-push') });
    await server.stop();
    results.profiles.push = { syncMs: r.client?.syncMs, error: r.error, client: profileOf(prof('client-push')), server: profileOf(prof('server-push')) };
  }
} catch (err) {
  exitCode = 1;
  results.fatal = err.message;
  log(`FATAL: ${err.stack ?? err.message}`);
}

if (interrupted) await new Promise(() => {}); // the signal handler cleans up and exits; write nothing
try {
  for (const r of [results.push, results.seed, results.initial, results.resume?.first, results.resume?.second]) if (r) delete r.entries;
  const data = {
    date: new Date().toISOString(),
    ...machineInfo(),
    quick,
    sizes: S,
    previous: PREVIOUS,
    docBytes: docBytes('s'),
    build,
    loadavg: { start: loadStart, end: loadavg().map((x) => Math.round(x * 100) / 100) },
    elapsedSeconds: Math.round((Date.now() - started) / 1000),
    results,
  };
  delete data.packages;
  const { markdown, failed } = writeSyncReports(data, HERE);
  console.log('\n' + markdown);
  if (failed) exitCode = 1;
  log(`done in ${data.elapsedSeconds} s; wrote test/bench/sync-results.md and test/bench/sync-results.json${failed ? ` — ${failed} budget(s)/check(s) FAILED` : ''}`);
} catch (err) {
  exitCode = 1;
  console.error(err);
} finally {
  await cleanup();
  if (keep) log(`kept ${RUN_DIR}`);
}
process.exit(exitCode);
