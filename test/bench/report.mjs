// Report writer: markdown table (stdout + results.md) and raw JSON (results.json).
import { cpus, arch, release, totalmem, type } from 'node:os';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

// Static engine metadata (kept here so writing the report never loads an engine).
const ENGINE_INFO = {
  wisejson: { label: 'WiseJSON (ours)', fsync: true, short: 'on disk (O_DSYNC/fsync) per group commit' },
  sqlite: { label: 'SQLite WAL (better-sqlite3)', fsync: true, short: 'fsync per commit' },
  nedb: { label: 'NeDB', fsync: false, short: 'append, **no fsync**' },
  lokijs: { label: 'LokiJS', fsync: false, short: 'in memory, whole-db save at end, **no fsync**' },
};

export function machineInfo() {
  const version = (pkg) => { try { return require(`${pkg}/package.json`).version; } catch { return null; } };
  let sqlite = null;
  try {
    const Database = require('better-sqlite3');
    const db = new Database(':memory:');
    sqlite = db.prepare('select sqlite_version()').pluck().get();
    db.close();
  } catch { /* not installed */ }
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    os: `${type()} ${release()} ${arch()}`,
    memGB: Math.round(totalmem() / 2 ** 30),
    filesystem: filesystemOf(new URL('.', import.meta.url).pathname),
    packages: {
      '@seald-io/nedb': version('@seald-io/nedb'),
      lokijs: version('lokijs'),
      'better-sqlite3': version('better-sqlite3'),
      sqlite,
    },
  };
}

function filesystemOf(path) {
  try {
    const real = realpathSync(path);
    let best = null;
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [dev, mnt, fs] = line.split(' ');
      if (mnt && (real === mnt || real.startsWith(mnt.endsWith('/') ? mnt : mnt + '/')) && (!best || mnt.length > best.mnt.length)) {
        best = { dev, mnt, fs };
      }
    }
    return best ? `${best.fs} (${best.dev} on ${best.mnt})` : 'unknown';
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------

const int = (n) => Math.round(n).toLocaleString('en-US');
const num = (v) => (v >= 100 ? int(v) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

function rows(S, rangeCount) {
  const k = (n) => (n >= 1000 ? `${n / 1000}k` : String(n));
  return [
    { key: 'w1', title: `1. Sequential durable inserts (${k(S.seqInserts)}, each awaited)`, unit: 'ops/s ↑', higher: true, write: true, disk: true },
    { key: 'w1lat', title: '1b. … per-insert latency p50 / p99 / max, (share of time in stalls > 10 ms)', unit: 'ms', latency: true },
    { key: 'w2', title: `2. Concurrent durable inserts (${S.concurrency} in flight, ${k(S.concInserts)} total)`, unit: 'ops/s ↑', higher: true, write: true, disk: true },
    { key: 'w3', title: `3. Bulk insert ${k(S.bulk)} in batches of ${k(S.batch)}`, unit: 'docs/s ↑', higher: true, write: true },
    { key: 'w4', title: `4. Random getById (${k(S.reads)} on ${k(S.bulk)} docs)`, unit: 'ops/s ↑', higher: true },
    { key: 'w5a', title: `5a. Range query age∈[${S.rangeLo},${S.rangeHi}) → ${rangeCount} of ${k(S.bulk)}, no index`, unit: `ms ↓ (median of ${S.rangeRuns})`, higher: false },
    { key: 'w5i', title: `5b. createIndex('age') on ${k(S.bulk)} docs`, unit: 'ms ↓', higher: false },
    { key: 'w5b', title: '5c. Same range query, with the index', unit: `ms ↓ (median of ${S.rangeRuns})`, higher: false },
    { key: 'w6', title: `6. Sequential durable updateOne by id (${k(S.updates)} on ${k(S.bulk)} docs)`, unit: 'ops/s ↑', higher: true, write: true, disk: true },
    { key: 'w6lat', title: '6b. … per-update latency p50 / p99 / max, (share of time in stalls > 10 ms)', unit: 'ms', latency: true },
    { key: 'w7c', title: `7a. Open + first getById of the ${k(S.bulk)}-doc db, after clean close`, unit: `ms ↓ (median of ${S.openRuns} processes)`, higher: false },
    { key: 'w7k', title: '7b. Open + first getById right after a kill -9 during writes (fresh process)', unit: 'ms ↓', higher: false },
    { key: 'w7kw', title: '7c. First durable write (updateOne) after that reopen', unit: 'ms ↓', higher: false },
    { key: 'w7lost', title: '7d. Acknowledged writes missing after the kill -9', unit: 'lost / acked', higher: false, noRatio: true },
    { key: 'shutdown', title: `7e. Shutdown after loading ${k(S.bulk)} docs + the writes: persist() + close()`, unit: 'ms ↓', higher: false },
    { key: 'w8', title: `8a. RSS with ${k(S.bulk)} docs loaded (fresh process, after gc)`, unit: 'MB ↓', higher: false },
    { key: 'w8o', title: `8b. RSS after reopening the ${k(S.bulk)}-doc db + 1 query`, unit: 'MB ↓', higher: false },
    { key: 'size', title: `Files on disk after clean close (${k(S.bulk)} docs)`, unit: 'MB ↓', higher: false },
  ];
}

export function buildMarkdown(data) {
  const { results, engines, sizes: S } = data;
  const failures = [];
  const others = engines.filter((e) => e !== 'wisejson');
  const hasOurs = engines.includes('wisejson');
  const ratioCols = [
    ...(hasOurs && data.disk ? [{ id: 'disk', head: 'ours / disk fdatasync' }] : []),
    ...(hasOurs ? others.map((e) => ({ id: e, head: `ours / ${{ sqlite: 'SQLite', nedb: 'NeDB', lokijs: 'LokiJS' }[e]}` })) : []),
  ];

  const cell = (engine, row) => {
    if (engine === 'disk') {
      return row.disk && results.disk?.[row.key] ? int(results.disk[row.key].value) : '';
    }
    const r = results[engine]?.[row.key];
    if (!r) return '–';
    if (r.error) {
      failures.push({ engine, row: row.title, error: r.error, stack: r.stack });
      return `**FAILED (E${failures.length})**`;
    }
    if (row.key === 'w7lost') return `${r.value} / ${r.of}`;
    if (row.latency) return `${num(r.p50)} / ${num(r.p99)} / ${num(r.max)} (${Math.round(r.stallShare * 100)} %)`;
    const mark = row.write && !ENGINE_INFO[engine].fsync ? ' †' : '';
    return num(r.value) + mark;
  };
  const ratio = (row, other) => {
    if (row.noRatio || row.latency) return '';
    if (other === 'disk' && !row.disk) return '';
    const ours = results.wisejson?.[row.key];
    const theirs = other === 'disk' ? results.disk?.[row.key] : results[other]?.[row.key];
    if (!ours || ours.error || !theirs || theirs.error || !(theirs.value > 0) || typeof ours.value !== 'number') return '–';
    const mark = row.write && other !== 'disk' && !ENGINE_INFO[other].fsync ? ' †' : '';
    return `${(ours.value / theirs.value).toFixed(2)}×${mark}`;
  };

  const cols = [...engines, ...(data.disk ? ['disk'] : [])];
  const head = ['Workload', 'Unit', ...cols.map((e) => (e === 'disk' ? 'disk: 200 B append + fdatasync' : ENGINE_INFO[e].label)), ...ratioCols.map((c) => c.head)];
  const lines = [];
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`);
  lines.push(`| Durability of a write | | ${cols.map((e) => (e === 'disk' ? 'fdatasync per append' : ENGINE_INFO[e].short)).join(' | ')} |${ratioCols.map(() => ' |').join('')}`);
  for (const row of rows(S, data.rangeExpectedCount)) {
    lines.push(`| ${row.title} | ${row.unit} | ${cols.map((e) => cell(e, row)).join(' | ')} |${ratioCols.map((c) => ` ${ratio(row, c.id)} |`).join('')}`);
  }
  const table = lines.join('\n');

  const legend = [
    '↑ higher is better, ↓ lower is better. Ratio columns are ours ÷ theirs in the row\'s unit: for ↑ rows > 1× means ours is faster, for ↓ rows < 1× means ours is faster/smaller.',
    '† the engine does not fsync these writes, so the comparison is against a non-durable write path.',
    data.disk ? `The disk column is the raw ceiling for one-fsync-per-write, sampled (${S.diskSeconds} s of 200-byte appends + fdatasync) before each round of that row's workload, so it saw the same disk conditions; all ${results.disk.all.samples.length} samples pooled: ${int(results.disk.all.value)}/s, individual samples ${int(Math.min(...results.disk.all.samples))}–${int(Math.max(...results.disk.all.samples))}/s. Group commit (row 2) can exceed it; with one durable write per awaited operation (rows 1, 6) it is roughly the ceiling (an \`O_DSYNC\` write into a preallocated file, as ours does, can be somewhat cheaper than append + fdatasync).` : '',
    `Rows 1–4 and 6 are split into ${S.rounds} rounds with the engines alternating (order rotated every round); ops/s = all operations ÷ (sum of the rounds' times + the final persist). Per-round times are in results.json.`,
    'LokiJS write rows include one `saveDatabase()` (whole db serialised and written) at the end of the workload; the single writes before it are memory-only.',
    'SQLite\'s API is synchronous: "32 in flight" still executes one fsync\'ed transaction after the other (no group commit). LokiJS queries use `$between [10, 13]` (its `find()` does not combine `$gte` and `$lt` on one field); results are checked to be identical for all engines.',
  ].filter(Boolean).map((l) => `- ${l}`).join('\n');

  const failureText = failures.length
    ? '\n\n### Failures\n\n' + failures.map((f, i) => `- **E${i + 1}** ${ENGINE_INFO[f.engine]?.label ?? f.engine}, ${f.row}: ${f.error}` +
        (f.stack ? `\n\n  \`\`\`\n${f.stack.split('\n').map((l) => '  ' + l).join('\n')}\n  \`\`\`` : '')).join('\n')
    : '';
  const warningText = data.warnings.length ? '\n\n### Warnings\n\n' + data.warnings.map((w) => `- ${w}`).join('\n') : '';

  return { markdown: `${table}\n\n${legend}${failureText}${warningText}`, failures: failures.length };
}

const DURABILITY = `## What "durable" means for each engine

- **WiseJSON (ours)**: \`insert\`/\`insertMany\`/\`updateOne\` resolve only after their log record is on disk (the log segment is written with \`O_DSYNC\` / fdatasync'ed). Writes issued concurrently share one such durable write (group commit), so throughput with many writes in flight can exceed the disk's fsync rate; one awaited write after another pays one each.
- **SQLite (better-sqlite3), WAL + \`synchronous=FULL\`**: every commit fsyncs the WAL before returning. Single writes are one transaction each; a bulk batch is one transaction. The driver is synchronous, so there is no group commit across "concurrent" callers.
- **NeDB (@seald-io/nedb)**: each write is appended to the datafile with \`fs.appendFile\` and **not fsync'ed**. Data survives a process crash (it is in the OS page cache) but not a power loss / kernel crash. Loading a datafile rewrites (compacts) the whole file, and that rewrite is fsync'ed — it is part of NeDB's open time.
- **LokiJS (fs adapter, autosave off)**: all data lives in memory. \`saveDatabase()\` serialises the **whole** database to \`file~\` and renames it over the file, **without fsync**. Anything written after the last save is lost on a crash (row 7d shows this). Here it is saved once at the end of each write workload, and that save is included in the workload's time.
- **disk baseline**: append 200 bytes + \`fdatasync\` in a loop on the same filesystem: the ceiling for "one fsync per acknowledged write".

A \`kill -9\` (row 7) loses nothing that reached the OS page cache, so it tests torn/partial writes, lock and recovery handling, and whether an engine acknowledged writes that were only in process memory — not power-loss durability.`;

function header(data) {
  const S = data.sizes;
  return `# WiseJSON benchmark results

- Date: ${data.date}${data.quick ? ' — **--quick run (10× smaller sizes)**' : ''}
- Node ${data.node}, CPU: ${data.cpu} × ${data.cores} cores, ${data.memGB} GB RAM, ${data.os}
- Load average (1/5/15 min) at start: ${data.loadavg.start.join(' / ')}, at end: ${data.loadavg.end.join(' / ')}
- Data directory filesystem: ${data.filesystem}
${data.engineBuild ? `- WiseJSON build: dist/wise-json.js built ${data.engineBuild.mtime} (sha256 ${data.engineBuild.sha256}), git HEAD ${data.engineBuild.gitHead}${data.engineBuild.srcEngineDirty ? ' + uncommitted changes in src/engine' : ''}\n` : ''}- Compared: ${Object.entries(data.packages).map(([k, v]) => `${k} ${v ?? '(not installed)'}`).join(', ')}
- Documents: ~200 bytes of JSON (\`{_id, name, email, age: i % 90, score, tags[3], city, active, note}\`), the same generator for every engine; ${S.bulk.toLocaleString('en-US')} docs in the large data set.
- Each engine runs in its own long-lived worker process; workloads 1–4 and 6 run in ${S.rounds} rounds with the engines alternating, range-query runs alternate the same way, and the disk baseline is sampled between rounds. Open/kill/RSS measurements use a fresh process per engine and measurement. The machine is shared and noisy (see load average): treat differences under ~20–30 % as noise.
- Total run time: ${data.elapsedSeconds} s. Raw numbers: \`test/bench/results.json\`.
`;
}

export function writeReports(data, dir) {
  const { markdown, failures } = buildMarkdown(data);
  const md = `${header(data)}\n## Results\n\n${markdown}\n\n${DURABILITY}\n`;
  writeFileSync(join(dir, 'results.md'), md);
  writeFileSync(join(dir, 'results.json'), JSON.stringify(data, null, 2) + '\n');
  return { markdown, failures };
}
