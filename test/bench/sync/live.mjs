// Live sync in the sync bench: how fast a write reaches another replica's process, and what
// 1,000 open live requests cost the server. Used by test/bench/sync.mjs (scenario 4).
import { fork } from 'node:child_process';
import { request as httpRequest, Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { nextMessage } from './messages.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const LIVE_CLIENT = join(HERE, 'live-client.mjs');

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length === 0 ? null : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const pct = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s.length === 0 ? null : s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
const r1 = (x) => (x === null ? null : Math.round(x * 10) / 10);

/** A live-client process with a message queue (see live-client.mjs). */
class LiveClient {
  constructor(label, params, children) {
    this.label = label;
    this.messages = [];
    this.waiters = new Set();
    this.proc = fork(LIVE_CLIENT, [JSON.stringify(params)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(this);
    this.proc.on('message', (m) => {
      this.messages.push(m);
      for (const w of [...this.waiters]) w();
    });
    this.exit = null;
    this.proc.on('exit', (code, signal) => {
      this.exit = { code, signal };
      children.delete(this);
      for (const w of [...this.waiters]) w();
    });
  }

  describeExit() { return `${this.label} exited (${JSON.stringify(this.exit)})`; }

  next(pred, timeoutMs, what) { return nextMessage(this, pred, timeoutMs, what); }

  send(m) { this.proc.send(m); }
  kill() { if (!this.exit) this.proc.kill('SIGKILL'); }
}

/**
 * A writer and a reader process, each with its own database, live sync on (the default), the
 * server at `url` directly (no proxy). `writes` documents are inserted one at a time by the
 * writer; each latency is from just before the writer's insert to the reader having it.
 */
export async function liveLatency({ lib, url, readerUrl = url, apiKey, dataset, collection, runDir, writes, children, log, label = '4a. live', dirSuffix = '' }) {
  const base = { dist: lib, url, apiKey, dataset, collection };
  const writer = new LiveClient('live-writer', { ...base, dir: join(runDir, `live-writer${dirSuffix}`), role: 'writer' }, children);
  const reader = new LiveClient('live-reader', { ...base, url: readerUrl, dir: join(runDir, `live-reader${dirSuffix}`), role: 'reader' }, children);
  try {
    await Promise.all([writer.next((m) => m.event === 'ready', 60_000, 'ready'), reader.next((m) => m.event === 'ready', 60_000, 'ready')]);
    const samples = [];
    for (let i = 0; i < writes; i++) {
      const id = `live-${String(i).padStart(4, '0')}`;
      reader.send({ cmd: 'expect', id });
      writer.send({ cmd: 'write', id });
      const [w, r] = await Promise.all([writer.next((m) => m.event === 'written' && m.id === id, 30_000, `written ${id}`), reader.next((m) => m.event === 'seen' && m.id === id, 30_000, `seen ${id}`)]);
      samples.push(r.at - w.at);
      await sleep(20);
    }
    writer.send({ cmd: 'stats' });
    reader.send({ cmd: 'stats' });
    const [ws, rs] = await Promise.all([writer.next((m) => m.event === 'stats', 10_000, 'stats'), reader.next((m) => m.event === 'stats', 10_000, 'stats')]);
    const out = {
      writes, medianMs: r1(median(samples)), p90Ms: r1(pct(samples, 0.9)), minMs: r1(Math.min(...samples)), maxMs: r1(Math.max(...samples)),
      samplesMs: samples.map(r1), writerCycles: ws.cycles, readerCycles: rs.cycles,
    };
    log(`${label}: a write in one process seen by another replica's process: median ${out.medianMs} ms, p90 ${out.p90Ms} ms (${writes} writes; cycles: writer ${ws.cycles}, reader ${rs.cycles})`);
    return out;
  } finally {
    for (const c of [writer, reader]) {
      c.send({ cmd: 'close' });
      await c.next((m) => m.event === 'closed', 10_000, 'closed').catch(() => c.kill());
    }
  }
}

function get(url, { headers = {}, agent } = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Holds `n` live requests (long-polls at the dataset's head, `wait=25`) open on the server at
 * once, and meanwhile samples the server's RSS and times `/v1/health`. The dataset must exist.
 */
export async function liveLoad({ server, apiKey, dataset, collection, n, log }) {
  const headers = { authorization: `Bearer ${apiKey}`, 'sync-protocol': '1' };
  const base = `${server.url}/v1/datasets/${encodeURIComponent(dataset)}/changes`;
  const head = JSON.parse((await get(`${base}?since=0&limit=1000&colls=${collection}`, { headers })).body);
  for (let more = head; more.hasMore;) Object.assign(head, (more = JSON.parse((await get(`${base}?since=${encodeURIComponent(more.checkpoint)}&proof=${encodeURIComponent(more.checkpointProof ?? '')}&limit=1000&colls=${collection}`, { headers })).body)));
  const q = `since=${encodeURIComponent(head.checkpoint)}${head.checkpointProof ? `&proof=${encodeURIComponent(head.checkpointProof)}` : ''}&limit=1&wait=25&colls=${collection}`;
  await sleep(500);
  const rssBeforeMB = server.rssMB();
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const reqs = [];
  let answered = 0;
  let failed = 0;
  let connected = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const req = httpRequest(`${base}?${q}`, { headers, agent }, (res) => { answered++; res.resume(); });
    req.on('socket', (s) => s.once('connect', () => connected++));
    req.on('error', () => { failed++; });
    req.end();
    reqs.push(req);
  }
  while (connected + failed < n && performance.now() - t0 < 30_000) await sleep(20);
  const openMs = performance.now() - t0;
  await sleep(1000); // the server reads and parks them
  let rssPeakMB = server.rssMB();
  const health = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    const r = await get(`${server.url}/v1/health`, { agent: false });
    health.push(performance.now() - t);
    if (r.status !== 200) throw new Error(`/v1/health answered ${r.status} under load`);
    rssPeakMB = Math.max(rssPeakMB, server.rssMB());
    await sleep(50);
  }
  const held = n - answered - failed;
  const failedBefore = failed;
  const answeredBefore = answered;
  for (const r of reqs) r.destroy();
  agent.destroy();
  await sleep(1000);
  const out = {
    requests: n, connected, held, answeredEarly: answeredBefore, failed: failedBefore, openMs: Math.round(openMs),
    rssBeforeMB: r1(rssBeforeMB), rssPeakMB: r1(rssPeakMB), rssGrowthMB: r1(rssPeakMB - rssBeforeMB), rssAfterReleaseMB: r1(server.rssMB()),
    healthMedianMs: r1(median(health)), healthMaxMs: r1(Math.max(...health)), healthSamples: health.length,
  };
  log(`4b. ${n} live requests: ${held} held (${answeredBefore} answered early, ${failedBefore} failed) in ${out.openMs} ms; server RSS ${out.rssBeforeMB} → ${out.rssPeakMB} MB (+${out.rssGrowthMB}); /v1/health median ${out.healthMedianMs} ms, max ${out.healthMaxMs} ms`);
  return out;
}
