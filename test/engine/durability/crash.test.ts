import { strict as assert } from 'node:assert';
import { ChildProcess, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WiseJSON } from '../../../src/engine';
import { CrashOp, WorkerModel } from '../fixtures/crash-model';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 60);
const WORKERS = 6;
const WRITER = path.join(__dirname, '..', 'fixtures', 'crash-writer.js');

interface RoundLog {
  acked: Map<number, CrashOp[]>;
  inflight: Map<number, CrashOp>;
  rejected: number;
  fatal: string | null;
}

function parseLog(text: string): RoundLog {
  const log: RoundLog = { acked: new Map(), inflight: new Map(), rejected: 0, fatal: null };
  for (const line of text.split('\n')) {
    if (!line) continue;
    if (line.startsWith('FATAL')) {
      log.fatal = line;
      continue;
    }
    const [kind, wText, ...rest] = line.split(' ');
    const w = Number(wText);
    if (kind === 'S') log.inflight.set(w, JSON.parse(rest.join(' ')) as CrashOp);
    else if (kind === 'A') {
      const op = log.inflight.get(w)!;
      log.inflight.delete(w);
      if (!log.acked.has(w)) log.acked.set(w, []);
      log.acked.get(w)!.push(op);
    } else if (kind === 'R') {
      const op = log.inflight.get(w)!;
      log.inflight.delete(w);
      assert.ok(op.kind === 'dup-id' || op.kind === 'dup-email', `only deliberate duplicates may be rejected, but ${JSON.stringify(op)} was: ${rest.join(' ')}`);
      log.rejected++;
    }
  }
  return log;
}

/** What the database holds for worker `w`, in the model's shape. */
async function observe(db: WiseJSON, w: number): Promise<WorkerModel> {
  const m = WorkerModel.empty();
  const prefix = `w${w}-`;
  const own = (id: string): boolean => id.startsWith(prefix);
  for (const d of await (await db.collection('docs')).getAll()) if (own(d._id)) m.docs[d._id] = { v: d.v as number, n: d.n as number };
  for (const d of await (await db.collection('pairs-a')).getAll()) if (own(d._id)) m.pairsA[d._id] = { v: d.v as number };
  for (const d of await (await db.collection('pairs-b')).getAll()) if (own(d._id)) m.pairsB[d._id] = { v: d.v as number };
  for (const d of await (await db.collection(`bins-${w}`)).getAll()) m.bins[d._id] = { v: d.v as number };
  for (const d of await (await db.collection('uniq')).getAll()) if (own(d._id)) m.uniq[d._id] = { email: d.email as string };
  return m;
}

function comparable(m: WorkerModel): string {
  const sort = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  return JSON.stringify([sort(m.docs), sort(m.pairsA), sort(m.pairsB), sort(m.bins), sort(m.uniq)]);
}

describe('crash safety: kill -9 of a process writing at full speed', function () {
  this.timeout(20 * 60_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-crash-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`keeps every acknowledged write and nothing else, over ${ROUNDS} random kills`, async () => {
    const dbPath = path.join(dir, 'db');
    const models = new Map<number, WorkerModel>();
    for (let w = 0; w < WORKERS; w++) models.set(w, WorkerModel.empty());
    let totalAcked = 0;
    let totalRejected = 0;
    let inflightApplied = 0;
    let inflightLost = 0;
    let reopenMsMax = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const state = Object.fromEntries([...models].map(([w, m]) => [w, m]));
      const stateFile = path.join(dir, 'model.json');
      fs.writeFileSync(stateFile, JSON.stringify(state));
      const child: ChildProcess = fork(WRITER, [dbPath, String(WORKERS), String(1000 + round), stateFile], {
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      });
      let out = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`writer exited early (${code}): ${out.slice(-2000)}`)));
      });
      // A random moment: early (mid-first-commits) to late (several checkpoints in).
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 400));
      child.kill('SIGKILL');
      await exited;
      await new Promise((r) => setImmediate(r));
      const log = parseLog(out);
      assert.equal(log.fatal, null, log.fatal ?? '');
      totalRejected += log.rejected;

      // lockStaleMs is a minute: opening at once proves the dead writer's lock is recognised.
      const t0 = Date.now();
      const db = new WiseJSON(dbPath, { lockStaleMs: 60_000, ttlCleanupIntervalMs: 0, checkpointIntervalMs: 0 });
      await db.init();
      reopenMsMax = Math.max(reopenMsMax, Date.now() - t0);
      try {
        for (let w = 0; w < WORKERS; w++) {
          const expected = WorkerModel.clone(models.get(w)!);
          for (const op of log.acked.get(w) ?? []) {
            WorkerModel.apply(expected, op);
            totalAcked++;
          }
          const actual = await observe(db, w);
          const inflight = log.inflight.get(w);
          const without = comparable(expected);
          const got = comparable(actual);
          if (got === without) {
            if (inflight) inflightLost++;
          } else {
            assert.ok(inflight, `round ${round}, worker ${w}: recovered state differs from the acknowledged writes and nothing was in flight\nexpected ${without}\ngot      ${got}`);
            const withOp = WorkerModel.clone(expected);
            WorkerModel.apply(withOp, inflight);
            assert.equal(got, comparable(withOp), `round ${round}, worker ${w}: recovered state is neither before nor after the in-flight ${JSON.stringify(inflight)} (a half-applied transaction or a lost write)`);
            inflightApplied++;
          }
          actual.counter = expected.counter;
          models.set(w, actual);
        }
        // Rejected writes left no trace: no doc has v = -1 (dup-id body), emails are unique.
        const docs = await (await db.collection('docs')).find({ v: -1 });
        assert.deepEqual(docs, [], 'a rejected duplicate insert reappeared');
        const emails = (await (await db.collection('uniq')).getAll()).map((d) => d.email);
        assert.equal(new Set(emails).size, emails.length, 'a rejected unique-email insert reappeared');
      } finally {
        await db.close();
      }
    }
    console.log(`      ${ROUNDS} kills: ${totalAcked} acknowledged writes all recovered, ${totalRejected} rejected writes never reappeared; in-flight at kill: ${inflightApplied} applied whole, ${inflightLost} absent; slowest reopen ${reopenMsMax} ms`);
    assert.ok(totalAcked > ROUNDS * 10, 'the writer made too little progress to test anything');
  });
});
