// Benchmark: the one-time upgrade of a WiseJSON 6 folder (npm run bench:upgrade).
// Writes a WiseJSON 6 folder in its on-disk layout (checkpoint meta + 2 MB data segments, then a
// WAL of updates after the checkpoint, as WiseJSON 6.0.4 lays them out; the layout itself is
// checked against the real WiseJSON 6 by test/engine/upgrade), then times the first open (the
// upgrade) and the second (an ordinary open), each in a fresh process, with its peak RSS.
//   node test/bench/upgrade.mjs [--docs 100000]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dirSizeMB } from './disk.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const DOCS = Number(args[args.indexOf('--docs') + 1] || 0) || 100_000;
const UPDATES = 1000;

function writeWisejson6(dir, name, n) {
  const cps = path.join(dir, name, '_checkpoints');
  mkdirSync(cps, { recursive: true });
  const timestamp = new Date(Date.now() - 60_000).toISOString();
  const stamp = timestamp.replace(/[:.]/g, '-');
  writeFileSync(path.join(cps, `checkpoint_meta_${name}_${stamp}.json`), JSON.stringify({ collectionName: name, timestamp, documentCount: n, indexesMeta: [{ fieldName: 'email', type: 'unique' }, { fieldName: 'city', type: 'standard' }] }));
  let seg = 0;
  let batch = [];
  let size = 2;
  const flush = () => {
    writeFileSync(path.join(cps, `checkpoint_data_${name}_${stamp}_seg${seg++}.json`), JSON.stringify(batch));
    batch = [];
    size = 2;
  };
  for (let i = 0; i < n; i++) {
    const doc = { _id: `doc${i}`, email: `user${i}@example.com`, city: `city${i % 100}`, text: 'x'.repeat(900), createdAt: timestamp, updatedAt: timestamp };
    const len = JSON.stringify(doc).length + 1;
    if (size + len > 2 * 1024 * 1024 && batch.length > 0) flush();
    batch.push(doc);
    size += len;
  }
  if (batch.length > 0) flush();
  const later = new Date().toISOString();
  let wal = '';
  for (let i = 0; i < UPDATES; i++) wal += JSON.stringify({ op: 'UPDATE', id: `doc${i}`, data: { city: 'moved', updatedAt: later }, opId: String(i) }) + '\n';
  appendFileSync(path.join(dir, name, `wal_${name}.log`), wal);
}

const CHILD = `
const WiseJSON = require(${JSON.stringify(path.join(ROOT, 'dist', 'wise-json.js'))});
(async () => {
  let peak = 0;
  const t = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
  const t0 = process.hrtime.bigint();
  const db = new WiseJSON(process.argv[1], { checkpointIntervalMs: 0 });
  let report = null;
  db.on('upgraded', (r) => (report = r));
  await db.init();
  const users = await db.collection('users');
  const count = await users.count();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  peak = Math.max(peak, process.memoryUsage().rss);
  clearInterval(t);
  await db.close();
  console.log(JSON.stringify({ ms, count, peakMB: peak / 1048576, upgraded: report && report.documents }));
})();
`;

function open(dir) {
  return JSON.parse(execFileSync(process.execPath, ['-e', CHILD, dir], { encoding: 'utf8' }).trim().split('\n').pop());
}

const dir = mkdtempSync(path.join(tmpdir(), 'wj-bench-upgrade-'));
try {
  writeWisejson6(dir, 'users', DOCS);
  const sizeMB = dirSizeMB(dir);
  const first = open(dir);
  const second = open(dir);
  if (first.count !== DOCS || first.upgraded !== DOCS || second.upgraded !== null) throw new Error(`unexpected: ${JSON.stringify({ first, second })}`);
  const r = (x) => Math.round(x);
  console.log(`WiseJSON 6 folder: ${DOCS} documents of ~1 KiB (${sizeMB} MB), ${UPDATES} updates in the WAL after the checkpoint`);
  console.log(`first open (the upgrade): ${r(first.ms)} ms, peak RSS ${r(first.peakMB)} MB`);
  console.log(`second open:              ${r(second.ms)} ms, peak RSS ${r(second.peakMB)} MB`);
  console.log(`upgrade / ordinary open:  ${(first.ms / second.ms).toFixed(2)}x`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
