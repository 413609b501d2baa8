// Workloads. Everything here runs inside a worker process (worker.mjs) against one engine adapter,
// except diskBaseline(), which the runner calls itself.
// All data is generated deterministically, so every engine gets exactly the same documents and ids.
import { closeSync, fdatasyncSync, mkdirSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

// ---------------------------------------------------------------------------------------------
// sizes

export function sizes(quick) {
  const f = quick ? 10 : 1;
  return {
    seqInserts: 10_000 / f,        // W1
    concInserts: 10_000 / f,       // W2
    concurrency: 32,               // W2
    bulk: 100_000 / f,             // W3 (also the data set of W4..W6) and W7/W8
    batch: 1_000,                  // W3
    reads: 100_000 / f,            // W4
    rangeLo: 10, rangeHi: 14,      // W5: age in [10, 14)
    rounds: 5,                     // W1-W4, W6 are split into this many rounds, engines alternating
    rangeRuns: 7,                  // W5: measured runs per engine and mode (after 1 warm-up)
    updates: 3_000 / f,            // W6
    crashInserts: 1_000 / f,       // W7: acknowledged writes done after the bulk load ...
    crashUpdates: 500 / f,         // ... before the clean close / the kill -9
    openRuns: 5,                   // W7: fresh processes opening the cleanly closed db (median)
    diskSeconds: quick ? 0.2 : 0.4, // disk baseline sample per round of W1, W2, W6
  };
}

// ---------------------------------------------------------------------------------------------
// data

const CITIES = ['Berlin', 'Paris', 'Lisbon', 'Oslo', 'Madrid', 'Vienna', 'Prague', 'Dublin', 'Warsaw', 'Rome', 'Athens', 'Zurich'];
const TAGS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];
const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do', 'eiusmod', 'tempor'];

/** mulberry32: small, fast, deterministic PRNG returning floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const idOf = (i) => 'doc' + String(i).padStart(8, '0');

/** Document i: ~200 bytes of JSON; age = i % 90, so age in [10, 14) selects 4/90 ≈ 4.4 %. */
export function makeDoc(i) {
  const r = rng(i * 7919 + 1);
  const pick = (arr) => arr[Math.floor(r() * arr.length)];
  const words = [];
  for (let k = 0; k < 5; k++) words.push(pick(WORDS));
  return {
    _id: idOf(i),
    name: `User ${i}`,
    email: `user${i}@example.com`,
    age: i % 90,
    score: Math.round(r() * 100_000) / 100,
    tags: [pick(TAGS), pick(TAGS), pick(TAGS)],
    city: pick(CITIES),
    active: r() < 0.5,
    note: words.join(' '),
  };
}

export const makeDocs = (from, n) => Array.from({ length: n }, (_, k) => makeDoc(from + k));

export function expectedRangeCount(n, lo, hi) {
  let c = 0;
  for (let i = 0; i < n; i++) { const a = i % 90; if (a >= lo && a < hi) c++; }
  return c;
}

// ---------------------------------------------------------------------------------------------
// helpers

const now = () => performance.now();
const gc = () => { if (globalThis.gc) { globalThis.gc(); globalThis.gc(); } };
const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10;

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function checkDoc(doc, id, what) {
  check(doc && typeof doc === 'object', `${what}: expected a document for ${id}, got ${JSON.stringify(doc)}`);
  check(doc._id === id, `${what}: expected _id ${id}, got ${JSON.stringify(doc._id)}`);
}

async function bulkLoad(h, n, batch) {
  const t0 = now();
  for (let i = 0; i < n; i += batch) {
    const docs = makeDocs(i, Math.min(batch, n - i));
    const res = await h.insertMany(docs);
    if (Array.isArray(res)) check(res.length === docs.length, `insertMany returned ${res.length} docs for a batch of ${docs.length}`);
  }
  const t1 = now();
  await h.persist();
  return { ms: now() - t0, persistMs: now() - t1 };
}

const rate = (n, ms) => n / (ms / 1000);

// ---------------------------------------------------------------------------------------------
// session workloads: one long-lived worker per engine runs these. The runner splits every workload
// into rounds (chunks of `n` operations starting at operation `from`) and alternates the engines
// round by round, so slow phases of a noisy machine hit every engine alike. The timed part of each
// command is only the operations themselves; opening and checking are outside the clock.
// st = { engine, dir, h: { [slot]: handle } }

function slotOf(st, slot) {
  const h = st.h[slot];
  check(h, `no open database in slot "${slot}" (its setup failed earlier)`);
  return h;
}

/** Operation k of the random-read workload reads this id (same sequence for every engine). */
const readId = (k, setSize) => idOf(Math.floor(rng(k * 31 + 42)() * setSize));
/** Operation k of the update workload sets score = 1e6 + k on this id. */
const updateId = (k, setSize) => idOf(Math.floor(rng(k * 17 + 7)() * setSize));

export const session = {
  async open(st, { slot }) {
    st.h[slot] = await st.engine.open(join(st.dir, slot));
    return {};
  },

  /** persist() (timed: LokiJS saves the whole db here), check count, optionally close. */
  async finish(st, { slot, expectedCount, close }) {
    const h = slotOf(st, slot);
    const t0 = now();
    await h.persist();
    const persistMs = now() - t0;
    const count = await h.count();
    check(count === expectedCount, `count() is ${count}, expected ${expectedCount}`);
    if (close) {
      await h.close();
      delete st.h[slot];
      rmSync(join(st.dir, slot), { recursive: true, force: true });
    }
    return { persistMs };
  },

  async close(st, { slot }) {
    if (st.h[slot]) await st.h[slot].close();
    delete st.h[slot];
    return {};
  },

  /** W1: durable inserts, each awaited before the next. */
  async insertSeq(st, { slot, from, n }) {
    const h = slotOf(st, slot);
    const docs = makeDocs(from, n);
    gc();
    const lat = new Array(n);
    const t0 = now();
    for (let k = 0; k < n; k++) {
      const t = now();
      const d = await h.insert(docs[k]);
      lat[k] = now() - t;
      if (k === 0) checkDoc(d, idOf(from), 'insert() result');
    }
    return { ms: now() - t0, lat };
  },

  /** W2: durable inserts with `concurrency` in flight at any time. */
  async insertConc(st, { slot, from, n, concurrency }) {
    const h = slotOf(st, slot);
    const docs = makeDocs(from, n);
    let next = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const lane = async () => {
      while (next < n) {
        const k = next++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const d = await h.insert(docs[k]);
        inFlight--;
        if (k % 97 === 0) checkDoc(d, idOf(from + k), 'insert() result');
      }
    };
    gc();
    const t0 = now();
    await Promise.all(Array.from({ length: concurrency }, lane));
    return { ms: now() - t0, maxInFlight };
  },

  /** W3: bulk insert in batches. */
  async insertBulk(st, { slot, from, n, batch }) {
    const h = slotOf(st, slot);
    const all = makeDocs(from, n);
    gc();
    const t0 = now();
    for (let i = 0; i < n; i += batch) {
      const docs = all.slice(i, i + batch);
      const res = await h.insertMany(docs);
      if (Array.isArray(res)) check(res.length === docs.length, `insertMany returned ${res.length} docs for a batch of ${docs.length}`);
    }
    return { ms: now() - t0 };
  },

  /** W4: random getById on the data set. */
  async reads(st, { slot, from, n, setSize }) {
    const h = slotOf(st, slot);
    const ids = Array.from({ length: n }, (_, k) => readId(from + k, setSize));
    gc();
    const t0 = now();
    for (let k = 0; k < n; k++) {
      const d = await h.getById(ids[k]);
      if (d === null || d === undefined || d._id !== ids[k]) checkDoc(d, ids[k], `getById (read #${from + k})`);
    }
    const ms = now() - t0;
    const missing = await h.getById('no-such-id');
    check(missing === null, `getById of a missing id returned ${JSON.stringify(missing)} instead of null`);
    return { ms };
  },

  /** W5: one range query lo <= age < hi. The runner repeats it and takes the median. */
  async rangeQuery(st, { slot, lo, hi, expected }) {
    const h = slotOf(st, slot);
    const t0 = now();
    const docs = await h.findAgeRange(lo, hi);
    const ms = now() - t0;
    check(Array.isArray(docs), `find() returned ${typeof docs}, not an array`);
    check(docs.length === expected, `range query returned ${docs.length} docs, expected ${expected}`);
    const bad = docs.find((d) => !(d.age >= lo && d.age < hi));
    check(!bad, `range query returned a doc outside the range: ${JSON.stringify(bad)}`);
    return { ms };
  },

  async createIndex(st, { slot }) {
    const h = slotOf(st, slot);
    gc();
    const t0 = now();
    await h.createAgeIndex();
    return { ms: now() - t0 };
  },

  /** W6: durable single-field updates by id, each awaited before the next. */
  async updates(st, { slot, from, n, setSize }) {
    const h = slotOf(st, slot);
    const ops = Array.from({ length: n }, (_, k) => [updateId(from + k, setSize), 1_000_000 + from + k]);
    gc();
    const lat = new Array(n);
    const t0 = now();
    for (let k = 0; k < n; k++) {
      const t = now();
      await h.setField(ops[k][0], 'score', ops[k][1]);
      lat[k] = now() - t;
    }
    const ms = now() - t0;
    const [lastId, lastV] = ops[ops.length - 1];
    const d = await h.getById(lastId);
    checkDoc(d, lastId, 'getById after updates');
    check(d.score === lastV, `after updateOne, score of ${lastId} is ${d.score}, expected ${lastV}`);
    return { ms, lat };
  },
};

// ---------------------------------------------------------------------------------------------
// W7/W8: each of these runs in its own fresh process.

/** Acknowledged writes done after the bulk load; the open check verifies they survived. */
export function crashWrites(n, inserts, updates) {
  return {
    insertIds: Array.from({ length: inserts }, (_, k) => idOf(n + k)),
    updates: Array.from({ length: updates }, (_, k) => [idOf((k * 7919) % n), `m${k}`]),
  };
}

async function doCrashWrites(h, n, inserts, updates) {
  const w = crashWrites(n, inserts, updates);
  for (let k = 0; k < inserts; k++) await h.insert(makeDoc(n + k));
  for (const [id, mark] of w.updates) await h.setField(id, 'mark', mark);
}

/** Fresh db, bulk load n, RSS after gc, the acknowledged writes, clean close. */
export async function loadAndClose(engine, dir, { n, batch, inserts, updates }) {
  gc();
  const rssStart = process.memoryUsage().rss;
  const h = await engine.open(dir);
  gc();
  const rssEmpty = process.memoryUsage().rss;
  const load = await bulkLoad(h, n, batch);
  gc();
  const mu = process.memoryUsage();
  await doCrashWrites(h, n, inserts, updates);
  const t0 = now();
  await h.persist();
  await h.close();
  return {
    loadMs: load.ms, shutdownMs: now() - t0,
    rssStartMB: mb(rssStart), rssEmptyMB: mb(rssEmpty), rssMB: mb(mu.rss), heapUsedMB: mb(mu.heapUsed),
    externalMB: mb(mu.external + mu.arrayBuffers),
  };
}

/**
 * Fresh db, bulk load n, the acknowledged writes, then keeps writing (8 in flight, never acknowledged
 * to the runner) until the runner SIGKILLs the process. `send` reports progress to the runner.
 */
export async function loadWriteUntilKilled(engine, dir, { n, batch, inserts, updates }, send) {
  const h = await engine.open(dir);
  await bulkLoad(h, n, batch);
  send({ event: 'loaded' });
  await doCrashWrites(h, n, inserts, updates);
  send({ event: 'acked', inserts, updates });
  let next = n + inserts;
  const lane = async () => {
    for (let k = 0; ; k++) {
      await h.insert(makeDoc(next++));
      if (k % 64 === 0) await yieldToLoop(); // engines with synchronous APIs must not starve IPC
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
}

/** Open an existing db, time open + first getById, then verify content and measure RSS. */
export async function openAndQuery(engine, dir, { n, inserts, updates, knownId }) {
  gc();
  const startedAt = Date.now();
  const t0 = now();
  const h = await engine.open(dir);
  const t1 = now();
  const first = await h.getById(knownId);
  const t2 = now();
  checkDoc(first, knownId, 'first getById after open');
  gc();
  const rss = process.memoryUsage().rss;
  // Verification (not timed): did every acknowledged write survive?
  const count = await h.count();
  const w = crashWrites(n, inserts, updates);
  let lostInserts = 0;
  for (const id of w.insertIds) if (!(await h.getById(id))) lostInserts++;
  let lostUpdates = 0;
  for (const [id, mark] of w.updates) {
    const d = await h.getById(id);
    if (!d || d.mark !== mark) lostUpdates++;
  }
  // The reopened database must accept a durable write (after a kill: stale locks, torn tails...).
  const t3 = now();
  await h.setField(knownId, 'reopened', process.pid);
  const firstWriteMs = now() - t3;
  const again = await h.getById(knownId);
  check(again && again.reopened === process.pid, `update after reopen not visible: ${JSON.stringify(again)}`);
  await h.persist();
  await h.close();
  return {
    startedAt, openMs: t1 - t0, firstQueryMs: t2 - t1, value: t2 - t0, firstWriteMs, rssMB: mb(rss),
    count, lostInserts, lostUpdates, acked: inserts + updates,
  };
}

// ---------------------------------------------------------------------------------------------
// disk baseline (runs in the runner process)

/** Append 200 bytes + fdatasync in a loop for `seconds`. */
export function diskBaseline(dir, seconds) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `fdatasync-${process.pid}.log`);
  const fd = openSync(file, 'a');
  const buf = Buffer.alloc(200, 'x');
  buf[199] = 10;
  let n = 0;
  const t0 = now();
  const end = t0 + seconds * 1000;
  let t = t0;
  while (t < end) {
    writeSync(fd, buf);
    fdatasyncSync(fd);
    n++;
    t = now();
  }
  closeSync(fd);
  unlinkSync(file);
  const ms = t - t0;
  return { n, ms, value: rate(n, ms) };
}
