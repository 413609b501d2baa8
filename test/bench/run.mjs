#!/usr/bin/env node
// Benchmark: WiseJSON (dist/wise-json.js) vs @seald-io/nedb, lokijs, better-sqlite3 and a raw
// append+fdatasync disk baseline, all in one run.
//
//   npm run bench                          build, then the full run (~3 min on 2 cores; budget 10)
//   npm run bench -- --quick               10x smaller sizes, smoke run (~40 s)
//   node test/bench/run.mjs --only=wisejson,sqlite,disk    (no build; names: wisejson|ours, sqlite,
//                                          nedb, lokijs|loki, disk)
//   options: --keep (keep the data dirs under test/bench/.work/), --timeout=<s> per step (default 300)
//
// Files: run.mjs (this runner), worker.mjs (one engine per process), workloads.mjs (data generator
// and workloads), engines/*.mjs (one adapter per engine, same async interface), report.mjs.
// Every engine runs in its own long-lived worker process. Workloads 1-4 and 6 are split into
// rounds and the engines alternate round by round (order rotated), range-query runs alternate the
// same way, and the disk baseline is sampled between rounds: on a shared, noisy machine every
// engine sees the same conditions. Workloads 7/8 (open, kill -9, RSS) use a fresh process per
// measurement. Results: test/bench/results.md (overwritten) and test/bench/results.json.
import { execFileSync, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ENGINES, canonicalName } from './engines/index.mjs';
import { DIST } from './engines/wisejson.mjs';
import { diskBaseline, expectedRangeCount, idOf, sizes } from './workloads.mjs';
import { machineInfo, writeReports } from './report.mjs';
import { dirSizeMB } from './disk.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const WORKER = join(HERE, 'worker.mjs');

// ---------------------------------------------------------------------------------------------
// arguments

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const opt = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
for (const a of argv) {
  if (!/^--(quick|keep|only=.*|timeout=\d+)$/.test(a)) {
    console.error(`unknown argument ${a}\nusage: node test/bench/run.mjs [--quick] [--only=wisejson,sqlite,nedb,lokijs,disk] [--keep] [--timeout=<s>]`);
    process.exit(2);
  }
}
const quick = flag('quick');
const keep = flag('keep');
const stepTimeoutMs = Number(opt('timeout') ?? 300) * 1000;
const ALL = [...ENGINES, 'disk'];
const only = opt('only') ? opt('only').split(',').filter(Boolean).map(canonicalName) : ALL;
for (const e of only) {
  if (!ALL.includes(e)) { console.error(`--only: unknown engine "${e}" (known: ${ALL.join(', ')})`); process.exit(2); }
}
const engines = ENGINES.filter((e) => only.includes(e));
const withDisk = only.includes('disk');

if (engines.includes('wisejson') && !existsSync(DIST)) {
  console.error(`\nERROR: ${DIST} does not exist, so WiseJSON (ours) cannot be benchmarked.\n` +
    'Build it with `npm run build` (or use `npm run bench`, which builds first),\n' +
    'or benchmark only the others with --only=sqlite,nedb,lokijs,disk\n');
  process.exit(1);
}

const S = sizes(quick);
const RUN_DIR = join(HERE, '.work', `run-${Date.now()}-${process.pid}`);
mkdirSync(RUN_DIR, { recursive: true });
const cleanup = () => { if (!keep) rmSync(RUN_DIR, { recursive: true, force: true }); };
process.on('SIGINT', () => { cleanup(); process.exit(130); });

// The engine is rebuilt often; every worker of this run must load the same build. Snapshot it.
let engineBuild = null;
if (engines.includes('wisejson')) {
  const snap = join(RUN_DIR, 'wise-json.js');
  copyFileSync(DIST, snap);
  if (existsSync(`${DIST}.map`)) copyFileSync(`${DIST}.map`, `${snap}.map`);
  process.env.WISEJSON_DIST = snap; // inherited by every worker
  const git = (...a) => { try { return execFileSync('git', a, { cwd: HERE, encoding: 'utf8' }).trim(); } catch { return null; } };
  engineBuild = {
    file: DIST,
    mtime: statSync(DIST).mtime.toISOString(),
    sha256: createHash('sha256').update(readFileSync(snap)).digest('hex').slice(0, 16),
    gitHead: git('rev-parse', '--short', 'HEAD'),
    srcEngineDirty: Boolean(git('status', '--porcelain', '--', '../../src/engine')),
  };
}

const started = Date.now();
const log = (...a) => console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s]`, ...a);

// results[engine][workload] = { value, ...raw } | { error }
const results = Object.fromEntries([...engines, 'disk'].map((e) => [e, {}]));
const warnings = [];

// ---------------------------------------------------------------------------------------------
// worker processes

class Child {
  constructor(mode, engine, dir, params = {}) {
    this.label = `${engine}/${mode}`;
    this.proc = fork(WORKER, [mode, engine, dir, JSON.stringify(params)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.stderr = '';
    this.messages = [];
    this.waiters = [];
    this.pending = new Map();
    this.nextId = 1;
    this.dead = null;
    const relay = (stream) => (chunk) => {
      const text = chunk.toString();
      if (stream === 'stderr') this.stderr = (this.stderr + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) process.stderr.write(`    [${this.label}] ${line}\n`);
    };
    this.proc.stdout.on('data', relay('stdout'));
    this.proc.stderr.on('data', relay('stderr'));
    this.proc.on('message', (m) => {
      if (m?.fatal) this.fatal = m;
      if (m?.id !== undefined && this.pending.has(m.id)) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p.settle(m);
        return;
      }
      this.messages.push(m);
      for (const w of [...this.waiters]) w();
    });
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exit = { code, signal };
        if (code === 3) warnings.push(`${this.label}: ${this.stderr.match(/LINGERING:.*/)?.[0] ?? 'exit code 3'}`);
        this.dead = this.describeDeath();
        for (const p of this.pending.values()) p.settle({ ok: false, error: { message: this.dead } });
        this.pending.clear();
        for (const w of [...this.waiters]) w();
        resolve(this.exit);
      });
    });
  }

  describeDeath() {
    const f = this.fatal ? ` (${this.fatal.kind}: ${this.fatal.error.message})` : '';
    const tail = this.stderr.trim() ? `; stderr: ${this.stderr.trim().split('\n').slice(-5).join(' | ')}` : '';
    return `worker ${this.label} exited (code ${this.exit.code}, signal ${this.exit.signal})${f}${tail}`;
  }

  /** Wait for a message satisfying `pred`; rejects on death or timeout (and then kills the worker). */
  next(pred, timeoutMs = stepTimeoutMs, what = 'message') {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.messages.findIndex(pred);
        if (i >= 0) { done(); resolve(this.messages.splice(i, 1)[0]); return; }
        const failed = this.messages.find((m) => m.ok === false && m.id === undefined);
        if (failed) { done(); reject(Object.assign(new Error(failed.error.message), { workerStack: failed.error.stack })); return; }
        if (this.fatal) { done(); reject(new Error(`${this.fatal.kind}: ${this.fatal.error.message}`)); return; }
        if (this.dead) { done(); reject(new Error(this.dead)); }
      };
      const timer = setTimeout(() => {
        done();
        this.kill();
        reject(new Error(`timeout: no ${what} from ${this.label} within ${timeoutMs / 1000} s (worker killed)`));
      }, timeoutMs);
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      this.waiters.push(check);
      check();
    });
  }

  /** Session RPC. Resolves to the result; rejects with the worker's error. */
  call(cmd, args, timeoutMs = stepTimeoutMs) {
    if (this.dead) return Promise.reject(new Error(`not run: ${this.dead}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.kill();
        reject(new Error(`timeout: ${cmd} did not finish within ${timeoutMs / 1000} s (worker killed)`));
      }, timeoutMs);
      this.pending.set(id, {
        settle: (m) => {
          clearTimeout(timer);
          if (m.ok) resolve(m.result);
          else reject(Object.assign(new Error(m.error.message), { workerStack: m.error.stack }));
        },
      });
      this.proc.send({ id, cmd, args });
    });
  }

  kill(signal = 'SIGKILL') {
    if (!this.exit) this.proc.kill(signal);
  }
}

const errorOf = (e) => ({ error: e.message, stack: e.workerStack });

/** Run a fresh one-shot worker and return its result (throws its error). */
async function oneShot(mode, engine, dir, params) {
  const c = new Child(mode, engine, dir, params);
  try {
    const m = await c.next((x) => 'ok' in x && x.id === undefined, stepTimeoutMs, `${mode} result`);
    if (!m.ok) throw Object.assign(new Error(m.error.message), { workerStack: m.error.stack });
    return m.result;
  } finally {
    await Promise.race([c.exited, sleep(10_000).then(() => c.kill())]);
  }
}


const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** Per-operation latency percentiles (ms) and how much of the total time went to stalls > 10 ms. */
function latencySummary(lat) {
  const s = [...lat].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const total = s.reduce((a, x) => a + x, 0);
  const stalls = s.filter((x) => x > 10);
  return {
    value: q(0.5), p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1],
    stalls: stalls.length, stallShare: stalls.reduce((a, x) => a + x, 0) / total,
  };
}
const rotate = (arr, k) => arr.map((_, i) => arr[(i + k) % arr.length]);

/** One disk-baseline sample (append + fdatasync), taken between rounds of the durable-write workloads. */
function diskSample(key) {
  if (!withDisk) return;
  const r = diskBaseline(join(RUN_DIR, 'disk'), S.diskSeconds);
  (results.disk.samples ??= []).push({ during: key, ...r });
}

// ---------------------------------------------------------------------------------------------
// W1..W6: one long-lived session worker per engine

const expectedRange = expectedRangeCount(S.bulk, S.rangeLo, S.rangeHi);
// Round-based steps: `total` operations split into S.rounds chunks; per round every engine runs
// its chunk (engine order rotated each round). value = total / (sum of chunk times + final persist).
const STEPS = [
  { key: 'w1', cmd: 'insertSeq', slot: 'w1', total: S.seqInserts, setup: true, finish: { expectedCount: S.seqInserts, close: true }, disk: true },
  { key: 'w2', cmd: 'insertConc', slot: 'w2', total: S.concInserts, args: { concurrency: S.concurrency }, setup: true, finish: { expectedCount: S.concInserts, close: true }, disk: true },
  { key: 'w3', cmd: 'insertBulk', slot: 'big', total: S.bulk, args: { batch: S.batch }, setup: true, finish: { expectedCount: S.bulk, close: false } },
  { key: 'w4', cmd: 'reads', slot: 'big', total: S.reads, args: { setSize: S.bulk } },
  { key: 'w5a', range: true },
  { key: 'w5i', single: 'createIndex' },
  { key: 'w5b', range: true },
  { key: 'w6', cmd: 'updates', slot: 'big', total: S.updates, args: { setSize: S.bulk }, finish: { expectedCount: S.bulk, close: true }, disk: true },
];

async function roundStep(sessions, step) {
  const live = new Set();
  const fail = (e, err) => { results[e][step.key] = errorOf(err); live.delete(e); log(`${step.key} ${e}: FAILED: ${err.message}`); };
  const acc = Object.fromEntries(engines.map((e) => [e, { ms: 0, rounds: [], lat: [], extra: {} }]));
  for (const e of engines) {
    live.add(e);
    if (step.setup) await sessions[e].call('open', { slot: step.slot }).catch((err) => fail(e, err));
  }
  const chunk = step.total / S.rounds;
  for (let round = 0; round < S.rounds; round++) {
    if (step.disk) diskSample(step.key);
    for (const e of rotate(engines, round)) {
      if (!live.has(e)) continue;
      try {
        const r = await sessions[e].call(step.cmd, { slot: step.slot, from: round * chunk, n: chunk, ...step.args });
        acc[e].ms += r.ms;
        acc[e].rounds.push(r.ms);
        if (r.lat) acc[e].lat.push(...r.lat);
        if (r.maxInFlight !== undefined) acc[e].extra.maxInFlight = Math.max(acc[e].extra.maxInFlight ?? 0, r.maxInFlight);
      } catch (err) { fail(e, err); }
    }
  }
  for (const e of engines) {
    if (!live.has(e)) continue;
    let persistMs = 0;
    try {
      if (step.finish) persistMs = (await sessions[e].call('finish', { slot: step.slot, ...step.finish })).persistMs;
    } catch (err) { fail(e, err); continue; }
    const ms = acc[e].ms + persistMs;
    results[e][step.key] = { value: step.total / (ms / 1000), n: step.total, ms, persistMs, roundMs: acc[e].rounds, ...acc[e].extra };
    if (acc[e].lat.length) results[e][`${step.key}lat`] = latencySummary(acc[e].lat);
    log(`${step.key} ${e}: ${fmtLog(results[e][step.key].value)} ops/s${persistMs > 1 ? ` (incl. ${persistMs.toFixed(0)} ms persist)` : ''}`);
  }
  if (step.disk) diskSummary(step.key);
}

/** Disk rate during one workload: all its samples pooled (total appends / total time). */
function diskSummary(key) {
  if (!withDisk) return;
  const samples = results.disk.samples.filter((x) => key === 'all' || x.during === key);
  const n = samples.reduce((a, x) => a + x.n, 0);
  const ms = samples.reduce((a, x) => a + x.ms, 0);
  results.disk[key] = { value: n / (ms / 1000), samples: samples.map((x) => Math.round(x.value)) };
  log(`disk baseline during ${key}: ${fmtLog(results.disk[key].value)} appends+fdatasync/s (samples ${results.disk[key].samples.join(', ')})`);
}

async function rangeStep(sessions, step) {
  const times = Object.fromEntries(engines.map((e) => [e, []]));
  for (let round = 0; round <= S.rangeRuns; round++) { // round 0 = warm-up, not counted
    for (const e of rotate(engines, round)) {
      if (results[e][step.key]?.error) continue;
      try {
        const r = await sessions[e].call('rangeQuery', { slot: 'big', lo: S.rangeLo, hi: S.rangeHi, expected: expectedRange });
        if (round > 0) times[e].push(r.ms);
      } catch (err) {
        results[e][step.key] = errorOf(err);
        log(`${step.key} ${e}: FAILED: ${err.message}`);
      }
    }
  }
  for (const e of engines) {
    if (results[e][step.key]?.error) continue;
    const t = times[e];
    results[e][step.key] = { value: median(t), min: Math.min(...t), max: Math.max(...t), runs: t, count: expectedRange };
    log(`${step.key} ${e}: median ${median(t).toFixed(2)} ms over ${t.length} runs`);
  }
}

async function runSessions() {
  if (!engines.length) return;
  const sessions = {};
  for (const e of engines) sessions[e] = new Child('session', e, join(RUN_DIR, e, 'session'));
  await Promise.all(engines.map(async (e) => {
    try { await sessions[e].next((m) => m.ready, 60_000, 'ready'); } catch (err) { log(`${e}: session failed to start: ${err.message}`); }
  }));

  for (const [si, step] of STEPS.entries()) {
    if (step.range) { await rangeStep(sessions, step); continue; }
    if (!step.single) { await roundStep(sessions, step); continue; }
    for (const e of rotate(engines, si)) {
      try {
        const r = await sessions[e].call(step.single, { slot: 'big' });
        results[e][step.key] = { value: r.ms };
        log(`${step.key} ${e}: ${fmtLog(r.ms)} ms`);
      } catch (err) {
        results[e][step.key] = errorOf(err);
        log(`${step.key} ${e}: FAILED: ${err.message}`);
      }
    }
  }

  for (const e of engines) {
    try { await sessions[e].call('close', { slot: 'big' }); } catch (err) { log(`${e}: close failed: ${err.message}`); }
    if (!sessions[e].dead) sessions[e].proc.send({ cmd: 'exit' });
  }
  await Promise.all(engines.map((e) => Promise.race([sessions[e].exited, sleep(10_000).then(() => sessions[e].kill())])));
}

const fmtLog = (v) => (typeof v === 'number' ? (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)) : String(v));

// ---------------------------------------------------------------------------------------------
// W7 (open after clean close / after kill -9) and W8 (RSS): fresh processes

async function runProcessWorkloads() {
  if (!engines.length) return;
  const load = { n: S.bulk, batch: S.batch, inserts: S.crashInserts, updates: S.crashUpdates };
  const check = { n: S.bulk, inserts: S.crashInserts, updates: S.crashUpdates, knownId: idOf(Math.floor(S.bulk * 0.77)) };
  const cleanDir = (e) => join(RUN_DIR, e, 'clean');
  const killDir = (e) => join(RUN_DIR, e, 'kill');
  const ok = Object.fromEntries(engines.map((e) => [e, { clean: false }]));

  for (const e of engines) {
    try {
      const r = await oneShot('loadclose', e, cleanDir(e), load);
      results[e].w8 = { value: r.rssMB, ...r };
      results[e].size = { value: dirSizeMB(cleanDir(e)) };
      results[e].shutdown = { value: r.shutdownMs };
      ok[e].clean = true;
      log(`w8 ${e}: RSS ${r.rssMB} MB with ${S.bulk} docs (empty db: ${r.rssEmptyMB} MB); on disk ${results[e].size.value} MB`);
    } catch (err) {
      results[e].w8 = results[e].size = results[e].shutdown = errorOf(err);
      log(`w8 ${e}: FAILED: ${err.message}`);
    }
  }

  // kill -9 in the middle of writes, then reopen right away in a fresh process (as a crashed
  // editor restarting would): stale locks and log recovery are part of what is measured.
  for (const e of engines) {
    const c = new Child('loadkill', e, killDir(e), load);
    let killedAt;
    try {
      await c.next((m) => m.event === 'acked', stepTimeoutMs, '"acked" event');
      await sleep(100); // let the unacknowledged writes run, then kill in the middle of them
      c.kill('SIGKILL');
      const exit = await c.exited;
      killedAt = Date.now();
      if (exit.signal !== 'SIGKILL') throw new Error(`worker ended before the kill: ${c.describeDeath()}`);
    } catch (err) {
      c.kill();
      results[e].w7k = results[e].w7lost = results[e].w7kw = errorOf(err);
      log(`w7 ${e}: kill setup FAILED: ${err.message}`);
      continue;
    }
    try {
      const r = await oneShot('open', e, killDir(e), check);
      const sinceKillMs = r.startedAt - killedAt;
      results[e].w7k = { ...r, sinceKillMs };
      results[e].w7lost = { value: r.lostInserts + r.lostUpdates, of: r.acked, lostInserts: r.lostInserts, lostUpdates: r.lostUpdates, countAfter: r.count };
      results[e].w7kw = { value: r.firstWriteMs };
      log(`w7 kill -9 then open ${e}: ${r.value.toFixed(1)} ms (open started ${sinceKillMs} ms after the kill; first write ${r.firstWriteMs.toFixed(1)} ms); ` +
        `count ${r.count}; lost ${r.lostInserts}/${S.crashInserts} acked inserts, ${r.lostUpdates}/${S.crashUpdates} acked updates`);
    } catch (err) {
      results[e].w7k = results[e].w7lost = results[e].w7kw = errorOf(err);
      log(`w7 kill -9 then open ${e}: FAILED: ${err.message}`);
    }
  }

  for (const e of engines) {
    if (!ok[e].clean) results[e].w7c = { error: 'not run: loading the data set for the clean-close case failed (see 8a)' };
  }

  const openRuns = Object.fromEntries(engines.map((e) => [e, []]));
  for (let round = 0; round < S.openRuns; round++) {
    for (const e of rotate(engines, round)) {
      if (!ok[e].clean || results[e].w7c?.error) continue;
      try {
        const r = await oneShot('open', e, cleanDir(e), check);
        openRuns[e].push(r);
        if (r.count !== S.bulk + S.crashInserts) throw new Error(`after clean close and reopen, count() is ${r.count}, expected ${S.bulk + S.crashInserts}`);
        if (r.lostInserts || r.lostUpdates) throw new Error(`after clean close and reopen, ${r.lostInserts} inserts and ${r.lostUpdates} updates are missing`);
      } catch (err) {
        results[e].w7c = errorOf(err);
        log(`w7 clean-open ${e}: FAILED: ${err.message}`);
      }
    }
  }
  for (const e of engines) {
    if (!ok[e].clean || results[e].w7c?.error) { results[e].w8o = { error: 'not run: see 7a' }; continue; }
    const runs = openRuns[e];
    results[e].w7c = { value: median(runs.map((r) => r.value)), first: runs[0].value, runs };
    results[e].w8o = { value: median(runs.map((r) => r.rssMB)) };
    log(`w7 clean-open ${e}: median ${results[e].w7c.value.toFixed(1)} ms (first ${runs[0].value.toFixed(1)} ms)`);
  }

}

// ---------------------------------------------------------------------------------------------

let exitCode = 0;
const loadStart = loadavg().map((x) => Math.round(x * 100) / 100);
try {
  log(`WiseJSON bench${quick ? ' (--quick)' : ''}: engines ${engines.join(', ') || '-'}${withDisk ? ' + disk baseline' : ''}; data in ${RUN_DIR}`);
  await runSessions();
  if (withDisk && !engines.length) {
    for (const step of STEPS.filter((x) => x.disk)) {
      for (let r = 0; r < S.rounds; r++) diskSample(step.key);
      diskSummary(step.key);
    }
  }
  await runProcessWorkloads();
  if (withDisk) diskSummary('all');

  const data = {
    date: new Date().toISOString(),
    ...machineInfo(),
    quick,
    engines,
    engineBuild,
    loadavg: { start: loadStart, end: loadavg().map((x) => Math.round(x * 100) / 100) },
    disk: withDisk,
    sizes: S,
    rangeExpectedCount: expectedRange,
    elapsedSeconds: Math.round((Date.now() - started) / 1000),
    results,
    warnings,
  };
  const { markdown, failures } = writeReports(data, HERE);
  console.log('\n' + markdown);
  if (failures) { exitCode = 1; log(`${failures} measurement(s) FAILED, see the table`); }
  log(`done in ${data.elapsedSeconds} s; wrote test/bench/results.md and test/bench/results.json`);
} catch (err) {
  exitCode = 1;
  console.error(err);
} finally {
  cleanup();
}
process.exit(exitCode);
