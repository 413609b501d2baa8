// The real sync server as a child process (dist/server.js), its JSON access log, and a TCP
// proxy on 127.0.0.1 that counts the bytes on the wire (headers included) in each direction.
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuMs, procStatusKB, resetPeakRss } from './proc.mjs';

const MB = 1024 * 1024;

export class ServerProcess {
  /** Every server process started and not yet exited (for cleanup on any exit path). */
  static live = new Set();

  /**
   * Starts `node <serverJs> --host 127.0.0.1 --port 0 --data <dataDir> --api-key <key>` (or
   * `--database-url <databaseUrl>` instead of `--data`) and
   * resolves once it printed `listening on http://…`.
   */
  static async start({ serverJs, dataDir, databaseUrl, apiKey, label = 'server', timeoutMs = 120_000, log = () => {}, execArgv = [] }) {
    const s = new ServerProcess(label, log);
    const t0 = performance.now();
    const store = databaseUrl ? ['--database-url', databaseUrl] : ['--data', dataDir];
    s.proc = spawn(process.execPath, [...execArgv, serverJs, '--host', '127.0.0.1', '--port', '0', ...store, '--api-key', apiKey], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    s.pid = s.proc.pid;
    ServerProcess.live.add(s);
    s.exited = new Promise((resolve) => s.proc.on('exit', (code, signal) => { s.exit = { code, signal }; ServerProcess.live.delete(s); resolve(s.exit); }));
    s.proc.stderr.on('data', (c) => {
      s.stderr = (s.stderr + c.toString()).slice(-8000);
      for (const line of c.toString().split('\n')) if (line.trim()) log(`[${label} stderr] ${line}`);
    });
    const listening = new Promise((resolve, reject) => {
      createInterface({ input: s.proc.stdout }).on('line', (line) => {
        if (!s.url) {
          const m = /^listening on (http:\/\/127\.0\.0\.1:(\d+))\s*$/.exec(line);
          if (m) {
            s.url = m[1];
            s.port = Number(m[2]);
            resolve();
            return;
          }
        }
        let entry;
        try { entry = JSON.parse(line); } catch { s.otherStdout.push(line); log(`[${label} stdout] ${line}`); return; }
        s.entries.push(entry);
        for (const fn of s.listeners) fn(entry);
      });
      s.exited.then((e) => reject(new Error(`${label} exited before listening (code ${e.code}, signal ${e.signal}); stderr: ${s.stderr.trim().split('\n').slice(-5).join(' | ')}`)));
    });
    let timer;
    try {
      await Promise.race([listening, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${label}: no "listening on" line within ${timeoutMs / 1000} s`)), timeoutMs); })]);
    } catch (err) {
      s.kill();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    s.startMs = performance.now() - t0;
    s.rssAtStartMB = (procStatusKB('VmRSS', s.pid) ?? 0) / 1024;
    return s;
  }

  constructor(label, log) {
    this.label = label;
    this.log = log;
    this.entries = [];
    this.listeners = new Set();
    this.otherStdout = [];
    this.stderr = '';
    this.exit = null;
  }

  onEntry(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  resetPeak() { return resetPeakRss(this.pid); }

  /** Samples VmRSS every `ms` (VmHWM can miss a peak that was given back with madvise). */
  startSampling(ms = 20) {
    this.sampledMaxKB = 0;
    const tick = () => { const kb = procStatusKB('VmRSS', this.pid); if (kb > this.sampledMaxKB) this.sampledMaxKB = kb; };
    tick();
    this.sampler = setInterval(tick, ms);
  }

  /** Stops sampling; the highest VmRSS seen, MB. */
  stopSampling() {
    clearInterval(this.sampler);
    return this.sampledMaxKB / 1024;
  }
  peakMB() { return (procStatusKB('VmHWM', this.pid) ?? NaN) / 1024; }
  rssMB() { return (procStatusKB('VmRSS', this.pid) ?? NaN) / 1024; }
  cpuMs() { return cpuMs(this.pid); }

  /** Waits until no access-log line arrived for `quietMs` (the log line follows the response). */
  async settle(quietMs = 250, maxMs = 5000) {
    const t0 = Date.now();
    let n = -1;
    while (Date.now() - t0 < maxMs) {
      if (this.entries.length === n) return;
      n = this.entries.length;
      await sleep(quietMs);
    }
  }

  /** Graceful stop (SIGTERM); SIGKILL after `timeoutMs`. Resolves with {code, signal, ms}. */
  async stop(timeoutMs = 30_000) {
    if (this.exit) return { ...this.exit, ms: 0 };
    const t0 = performance.now();
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.kill(), timeoutMs);
    const e = await this.exited;
    clearTimeout(timer);
    return { ...e, ms: performance.now() - t0 };
  }

  kill() {
    if (!this.exit) this.proc.kill('SIGKILL');
  }
}

/** Summary of access-log entries: requests by kind, body bytes, statuses, ops and changes. */
export function summarizeLog(entries) {
  const s = { requests: entries.length, push: 0, changes: 0, other: 0, bodyBytesIn: 0, bodyBytesOut: 0, ops: 0, changesReturned: 0, emptyPages: 0, dataPages: 0, statuses: {}, errors: [] , maxMs: 0, sumMs: 0 };
  for (const e of entries) {
    s.bodyBytesIn += e.bytesIn ?? 0;
    s.bodyBytesOut += e.bytesOut ?? 0;
    s.statuses[e.status] = (s.statuses[e.status] ?? 0) + 1;
    s.sumMs += e.ms ?? 0;
    if ((e.ms ?? 0) > s.maxMs) s.maxMs = e.ms;
    if (e.status >= 400 || e.code) s.errors.push({ path: e.path, status: e.status, code: e.code });
    if (/\/push$/.test(e.path)) { s.push++; s.ops += e.ops ?? 0; s.pushMs = (s.pushMs ?? 0) + (e.ms ?? 0); }
    else if (/\/changes\?/.test(e.path)) {
      s.changes++;
      s.changesReturned += e.changes ?? 0;
      if ((e.changes ?? 0) > 0) s.dataPages++; else s.emptyPages++;
    } else s.other++;
  }
  s.errors = s.errors.slice(0, 20);
  return s;
}

/** `since` and `colls` of a changes request's logged path. */
export function changesQuery(entry) {
  const q = entry.path.indexOf('?');
  if (q < 0) return {};
  const u = new URLSearchParams(entry.path.slice(q + 1));
  return { since: u.get('since'), colls: u.get('colls'), limit: u.get('limit') };
}

/**
 * TCP proxy 127.0.0.1:<port> → 127.0.0.1:<target>, counting bytes client→server (`up`) and
 * server→client (`down`) on the wire, HTTP headers included.
 */
export class CountingProxy {
  static async start(targetPort) {
    const p = new CountingProxy(targetPort);
    await new Promise((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen(0, '127.0.0.1', () => { p.server.off('error', reject); resolve(); });
    });
    p.port = p.server.address().port;
    p.url = `http://127.0.0.1:${p.port}`;
    return p;
  }

  constructor(targetPort) {
    this.target = targetPort;
    this.up = 0;
    this.down = 0;
    this.connections = 0;
    this.gzipAccepted = 0; // requests carrying Accept-Encoding: gzip
    this.gzipped = 0; // responses with Content-Encoding: gzip
    this.sockets = new Set();
    this.server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) { s.setNoDelay(true); this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); s.on('error', () => {}); }
      client.on('data', (c) => { this.up += c.length; this.sniff(c, 'up'); if (!upstream.write(c)) { client.pause(); upstream.once('drain', () => client.resume()); } });
      upstream.on('data', (c) => { this.down += c.length; this.sniff(c, 'down'); if (!client.write(c)) { upstream.pause(); client.once('drain', () => upstream.resume()); } });
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  retarget(port) { this.target = port; }

  /**
   * Counts gzip negotiation headers. Only the first 2 KiB of each chunk are looked at (a message's
   * headers start a chunk; a header split across chunks would be missed, which is rare here).
   */
  sniff(chunk, dir) {
    const text = chunk.toString('latin1', 0, Math.min(chunk.length, 2048));
    const re = dir === 'up' ? /\r\naccept-encoding:[^\r]*gzip/gi : /\r\ncontent-encoding:\s*gzip/gi;
    const n = text.match(re)?.length ?? 0;
    if (dir === 'up') this.gzipAccepted += n; else this.gzipped += n;
  }

  snapshot() { return { up: this.up, down: this.down, connections: this.connections, gzipAccepted: this.gzipAccepted, gzipped: this.gzipped }; }

  async close() {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export const toMB = (bytes) => bytes / MB;
