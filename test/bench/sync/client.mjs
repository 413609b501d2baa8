// Sync-benchmark client: ONE WiseJSON database with sync enabled, in its own process (so its RSS
// and CPU time are its own). Driven by test/bench/sync.mjs over IPC.
//
//   node [--cpu-prof] client.mjs <params-json>
//   params: { dist, dir, url, apiKey, dataset, collection, insert: n | 0, prefix, batch, waitGo }
//
// Steps: open the database, enable sync, insert `insert` documents (insertMany in batches of
// `batch`; not measured), report {event:'prepared'}, wait for {cmd:'go'} (so the parent can reset
// the server's counters and peak RSS), then `await col.triggerSync()` — the measured part — and
// report {ok:true, result}. Every sync event is recorded; an error is reported, never retried
// or worked around here. Peak RSS: process.memoryUsage().rss sampled every 10 ms (max) and the
// kernel's VmHWM (reset with /proc/self/clear_refs just before the sync, so it covers the sync
// only).
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { makeDocs } from './docs.mjs';
import { procStatusKB } from './proc.mjs';

const p = JSON.parse(process.argv[2]);
const MB = 1024 * 1024;

const errInfo = (e) => ({ message: e?.message ?? String(e), name: e?.name, code: e?.code, stack: e?.stack ? String(e.stack).split('\n').slice(0, 8).join('\n') : undefined });
const send = (msg) => new Promise((resolve) => { if (process.connected) process.send(msg, () => resolve()); else resolve(); });
const fatal = async (kind, e) => { await send({ ok: false, fatal: kind, error: errInfo(e) }).catch(() => {}); process.exit(1); };
process.on('uncaughtException', (e) => fatal('uncaughtException', e));
process.on('unhandledRejection', (e) => fatal('unhandledRejection', e));

// ------------------------------------------------------------------------------------------
// memory

/** The measured sync's start (set just before triggerSync). */
const t0ref = { t: performance.now() };
let maxRss = 0;
let maxHeap = 0;
/** Where the sampled peak was: time since the sync started, and the heap and Buffers then. */
let peakAt = null;
const sample = () => {
  const rss = process.memoryUsage.rss(); // cheap; the heap is sampled at every request (mark)
  if (rss > maxRss) {
    maxRss = rss;
    const m = process.memoryUsage();
    peakAt = { atMs: Math.round(performance.now() - t0ref.t), rssMB: Math.round(rss / MB), heapMB: Math.round(m.heapUsed / MB), heapTotalMB: Math.round(m.heapTotal / MB), externalMB: Math.round(m.external / MB) };
  }
};
const sampler = setInterval(sample, 10);
sampler.unref();
const resetPeaks = () => {
  let hwmReset = true;
  try { writeFileSync('/proc/self/clear_refs', '5'); } catch { hwmReset = false; }
  maxRss = 0;
  maxHeap = 0;
  sample();
  return hwmReset;
};

// ------------------------------------------------------------------------------------------

const WiseJSON = createRequire(import.meta.url)(p.dist);
const tStart = performance.now();
const db = new WiseJSON(p.dir);
await db.init();
const col = await db.collection(p.collection);
const openMs = performance.now() - tStart;
const countAtOpen = await col.count();

const ev = { errors: [], resets: [], quarantines: [], paused: [], rejected: 0, conflicts: 0, pushes: 0, pushedOps: 0, pages: 0, pulled: 0, success: [] };
const at = () => Math.round(performance.now() - t0ref.t);
col.on('sync:error', (e) => { ev.errors.push({ atMs: at(), ...e }); void send({ event: 'sync:error', error: e }); });
col.on('sync:reset', (e) => ev.resets.push({ atMs: at(), ...e }));
col.on('sync:quarantine', (e) => ev.quarantines.push({ atMs: at(), ...e }));
col.on('sync:paused', (e) => ev.paused.push({ atMs: at(), ...e }));
col.on('sync:rejected', () => { ev.rejected++; });
col.on('sync:conflict', () => { ev.conflicts++; });
// Memory after every request (push or pull page), to see how the client's RSS grows.
const timeline = [];
const mark = (kind, n) => {
  const m = process.memoryUsage();
  if (m.rss > maxRss) maxRss = m.rss;
  if (m.heapUsed > maxHeap) maxHeap = m.heapUsed;
  timeline.push({ atMs: at(), kind, n, rssMB: Math.round(m.rss / MB), heapMB: Math.round(m.heapUsed / MB), heapTotalMB: Math.round(m.heapTotal / MB), externalMB: Math.round(m.external / MB) });
};
col.on('sync:push_success', (e) => { ev.pushes++; ev.pushedOps += e.pushed; ev.lastPushAtMs = at(); mark('push', e.pushed); });
col.on('sync:pull_success', (e) => { ev.pages++; ev.pulled += e.pulled; ev.firstPullAtMs ??= at(); mark('pull', e.pulled); });
col.on('sync:success', (e) => ev.success.push({ atMs: at(), ...e }));

// live: false: these scenarios measure one triggerSync() cycle, not pushes started by the inserts.
col.enableSync({ url: p.url, apiKey: p.apiKey, dataset: p.dataset, live: false });

let insertMs = 0;
if (p.insert > 0) {
  const t = performance.now();
  for (let from = 0; from < p.insert; from += p.batch) {
    await col.insertMany(makeDocs(p.prefix, from, Math.min(p.batch, p.insert - from)));
  }
  insertMs = performance.now() - t;
}
const before = col.getSyncStatus();
globalThis.gc?.();
sample();
await send({ event: 'prepared', pending: before.pending, count: await col.count(), countAtOpen, openMs, insertMs, rssMB: process.memoryUsage().rss / MB, cursor: before.cursor });

if (p.waitGo) {
  await new Promise((resolve) => process.once('message', (m) => { if (m?.cmd === 'go') resolve(); }));
}

// ------------------------------------------------------------------------------------------
// the measured part

const hwmReset = resetPeaks();
const rssStartMB = process.memoryUsage().rss / MB;
const cpu0 = process.cpuUsage();
t0ref.t = performance.now();
await col.triggerSync();
const syncMs = performance.now() - t0ref.t;
const cpu = process.cpuUsage(cpu0);
sample();
// The sync's peak; close() (which may write a checkpoint) is measured on its own below.
const syncPeak = { maxRss, peakAt };
const vmHwmKB = procStatusKB('VmHWM');
const rssEndMB = process.memoryUsage().rss / MB;
globalThis.gc?.();
const afterGc = process.memoryUsage();
const status = col.getSyncStatus();
const count = await col.count();
// Spot check: every pulled document carries its server version.
const probe = p.expectIds?.length ? await Promise.all(p.expectIds.map((id) => col.getById(id))) : [];
const missing = p.expectIds ? p.expectIds.filter((_, i) => !probe[i]) : [];
const unversioned = probe.filter((d) => d && !(d._v > 0)).map((d) => d._id);

const tc = performance.now();
maxRss = 0;
sample();
await db.close();
const closeMs = performance.now() - tc;
sample();
const closePeakMB = maxRss / MB;

await send({
  ok: true,
  result: {
    openMs, countAtOpen, insertMs, syncMs, closeMs,
    cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000,
    rssStartMB, rssEndMB, rssAfterGcMB: afterGc.rss / MB, heapAfterGcMB: afterGc.heapUsed / MB, heapTotalAfterGcMB: afterGc.heapTotal / MB, externalAfterGcMB: afterGc.external / MB, timeline, maxRssSampledMB: syncPeak.maxRss / MB, maxRssSampledAt: syncPeak.peakAt, closePeakMB, maxHeapUsedAtRequestsMB: maxHeap / MB, vmHwmMB: vmHwmKB / 1024, hwmReset,
    status: { state: status.state, pending: status.pending, lastError: status.lastError, cursor: status.cursor },
    count, missing, unversioned,
    events: ev,
  },
});

// The process should now exit on its own; if the library left timers or sockets behind, say so.
process.disconnect();
setTimeout(() => {
  const res = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
  process.stderr.write(`LINGERING: client still alive 2 s after db.close(); active resources: ${res.join(', ')}\n`);
  process.exit(3);
}, 2000).unref();
