import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WiseJSON } from '../../../src/engine';

const WRITER = path.join(__dirname, '..', 'fixtures', 'concurrent-writer.js');

interface Report {
  markerVisibleAfterMs: number;
  finalCount: number;
  counter: number;
  eventsFromOther: number;
  reloads: number;
}

function start(dbPath: string, name: string, other: string, n: number) {
  const child = fork(WRITER, [dbPath, name, other, String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`${name} exited before it was ready (${code})`)));
  });
  const report = new Promise<Report>((resolve, reject) => {
    child.on('message', (m) => {
      if (typeof m === 'object') resolve(m as Report);
    });
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${name} exited with ${code}`))));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, ready, report, exited };
}

describe('several processes on one database', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-mp-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('two processes write at the same time: no write lost, $inc exact, both converge', async () => {
    const dbPath = path.join(dir, 'db');
    const n = 1500;
    const a = start(dbPath, 'A', 'B', n);
    const b = start(dbPath, 'B', 'A', n);
    await Promise.all([a.ready, b.ready]);
    a.child.send('go');
    b.child.send('go');
    const [ra, rb] = await Promise.all([a.report, b.report]);
    await Promise.all([a.exited, b.exited]);
    console.log(`      each saw the other's first write after ${ra.markerVisibleAfterMs} ms / ${rb.markerVisibleAfterMs} ms; insert events from the other process: ${ra.eventsFromOther} / ${rb.eventsFromOther}, reloads ${ra.reloads}/${rb.reloads}`);
    // Both converged on the same, complete state.
    assert.equal(ra.finalCount, 2 * n + 2);
    assert.equal(rb.finalCount, 2 * n + 2);
    // Every write of both is there after reopening, and no increment was lost.
    const db = new WiseJSON(dbPath);
    await db.init();
    try {
      const col = await db.collection('shared');
      assert.equal(await col.count(), 2 * n + 2);
      for (const name of ['A', 'B']) {
        for (let i = 0; i < n; i++) assert.ok(await col.getById(`${name}-${i}`), `${name}-${i} was lost`);
      }
      const counter = await (await db.collection('counters')).getById('counter');
      assert.equal(counter?.n, 2 * n);
      // Each process was told about each of the other's inserts through an event, exactly once.
      assert.equal(ra.eventsFromOther, n + 1);
      assert.equal(rb.eventsFromOther, n + 1);
    } finally {
      await db.close();
    }
  });

  it('concurrent $inc from one process loses nothing', async () => {
    const db = new WiseJSON(path.join(dir, 'db'));
    await db.init();
    const c = await db.collection('c');
    await c.insert({ _id: 'x', n: 0 });
    await Promise.all(Array.from({ length: 500 }, () => c.updateOne({ _id: 'x' }, { $inc: { n: 1 } })));
    assert.equal((await c.getById('x'))?.n, 500);
    await db.close();
  });
});
