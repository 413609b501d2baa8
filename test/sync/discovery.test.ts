/**
 * Collection discovery: a database that syncs as a whole (db.enableSync) creates the collections
 * other replicas created, and pulls them in the same cycle. Real server on 127.0.0.1, real engines.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WiseJSON } from '../../src/engine';
import { HttpSyncApiClient, SyncApiClient } from '../../src/sync/api-client';
import { KEY, TestServer, tmpDir } from '../server/helpers';

const DS = 'team';
const EVENTS = ['sync:error', 'sync:quarantine', 'sync:success', 'sync:reset', 'warning'];

interface Opened {
  db: WiseJSON;
  events: { name: string; payload: unknown }[];
}

describe('sync: collection discovery (db.enableSync)', function () {
  this.timeout(60_000);
  const server = new TestServer();
  let dir: string;
  let open: Opened[] = [];
  const clients: HttpSyncApiClient[] = [];
  beforeEach(async () => {
    await server.start();
    dir = await tmpDir('wisejson-sync-disc-');
    open = [];
  });
  afterEach(async () => {
    for (const r of open) await r.db.close().catch(() => undefined);
    for (const c of clients.splice(0)) await c.close();
    await server.stop();
    fs.rmSync(server.dir, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    server.dir = '';
    server.logs.length = 0;
  });

  /** Opens (or reopens) database `name`; `setup` runs before sync is enabled. */
  const db = async (name: string, o: { whole?: boolean; apiClient?: SyncApiClient; setup?: (db: WiseJSON) => Promise<void>; dataset?: string } = {}): Promise<Opened> => {
    const d = new WiseJSON(path.join(dir, name));
    await d.init();
    const events: Opened['events'] = [];
    for (const e of EVENTS) d.on(e, (payload: unknown) => events.push({ name: e, payload }));
    await o.setup?.(d);
    const options = { url: server.url, apiKey: KEY, dataset: o.dataset ?? DS, ...(o.apiClient ? { apiClient: o.apiClient } : {}) };
    if (o.whole !== false) await d.enableSync(options);
    const r = { db: d, events };
    open.push(r);
    return r;
  };
  const errors = (r: Opened): unknown[] => r.events.filter((e) => e.name === 'sync:error' || e.name === 'sync:quarantine').map((e) => e.payload);
  const ids = async (d: WiseJSON, coll: string): Promise<string[]> => (await (await d.collection(coll)).find({})).map((x) => String(x._id)).sort();
  const listRequests = (): number => server.logs.filter((e) => e.path.endsWith('/collections')).length;

  /** A wrapper of the real client whose collections endpoint answers `answer()`. */
  const withCollections = (answer: (real: HttpSyncApiClient, p: string) => Promise<unknown>): { client: SyncApiClient; asked: () => number } => {
    const real = new HttpSyncApiClient(server.url, KEY);
    clients.push(real);
    let asked = 0;
    return {
      client: {
        get: (p) => {
          if (p.split('?')[0].endsWith('/collections')) {
            asked++;
            return answer(real, p);
          }
          return real.get(p);
        },
        post: (p, body) => real.post(p, body),
      },
      asked: () => asked,
    };
  };

  it('a collection created on replica A appears on replica B in B\'s next cycle, and B\'s writes to it reach A', async () => {
    const a = await db('a');
    const ideas = await a.db.collection('ideas');
    await ideas.insertMany([{ _id: 'i1', text: 'one' }, { _id: 'i2', text: 'two' }]);
    await (await a.db.collection('notes')).insert({ _id: 'n1' });
    await a.db.triggerSync();
    assert.deepEqual(errors(a), []);

    const b = await db('b');
    assert.deepEqual(await b.db.getCollectionNames(), []);
    await b.db.triggerSync();
    assert.deepEqual(errors(b), []);
    const names = await b.db.getCollectionNames();
    assert.ok(names.includes('ideas') && names.includes('notes'), `B has ${names.join(', ')}`);
    assert.deepEqual(await ids(b.db, 'ideas'), ['i1', 'i2']);
    assert.equal((await (await b.db.collection('ideas')).getById('i2'))?.text, 'two');
    assert.deepEqual(await ids(b.db, 'notes'), ['n1']);
    assert.ok((await b.db.collection('ideas')).getSyncStatus().cursor, 'the discovered collection syncs (it has a cursor)');

    await (await b.db.collection('ideas')).insert({ _id: 'i3', text: 'from b' });
    await (await b.db.collection('ideas')).update('i1', { text: 'one, edited on b' });
    await b.db.triggerSync();
    await a.db.triggerSync();
    assert.deepEqual(await ids(a.db, 'ideas'), ['i1', 'i2', 'i3']);
    assert.equal((await ideas.getById('i1'))?.text, 'one, edited on b');
    assert.deepEqual([...errors(a), ...errors(b)], []);
    assert.equal(b.db.getSyncStatus()?.pending, 0);
  });

  it('a dataset nobody pushed to yet (404 dataset_not_found) does not turn discovery off', async () => {
    const b = await db('b');
    await b.db.triggerSync();
    assert.deepEqual(errors(b), []);
    const a = await db('a');
    await (await a.db.collection('later')).insert({ _id: 'l1' });
    await a.db.triggerSync();
    await b.db.triggerSync();
    assert.deepEqual(await ids(b.db, 'later'), ['l1']);
    assert.deepEqual(errors(b), []);
  });

  it('collections whose documents are all deleted are created too; every listed collection is pulled in one cycle', async () => {
    const a = await db('a');
    const gone = await a.db.collection('gone');
    await gone.insert({ _id: 'g1' });
    await a.db.triggerSync();
    await gone.remove('g1');
    for (let i = 0; i < 5; i++) await (await a.db.collection(`c${i}`)).insert({ _id: `d${i}` });
    await a.db.triggerSync();
    const b = await db('b');
    const before = listRequests();
    await b.db.triggerSync();
    assert.equal(listRequests() - before, 1, 'one collections request per cycle');
    assert.deepEqual((await b.db.getCollectionNames()).filter((n) => !n.startsWith('_')), ['c0', 'c1', 'c2', 'c3', 'c4', 'gone']);
    for (let i = 0; i < 5; i++) assert.deepEqual(await ids(b.db, `c${i}`), [`d${i}`]);
    assert.deepEqual(await ids(b.db, 'gone'), []);
    assert.deepEqual(errors(b), []);
  });

  it('a collection dropped locally is created again on the next start and pulled from the beginning', async () => {
    const a = await db('a');
    await (await a.db.collection('ideas')).insertMany([{ _id: 'i1' }, { _id: 'i2' }]);
    await a.db.triggerSync();
    let b = await db('b');
    await b.db.triggerSync();
    assert.deepEqual(await ids(b.db, 'ideas'), ['i1', 'i2']);
    await b.db.disableSync();
    await b.db.dropCollection('ideas');
    await b.db.close();
    open = open.filter((r) => r !== b);
    b = await db('b');
    assert.ok(!(await b.db.getCollectionNames()).includes('ideas'));
    await b.db.triggerSync();
    assert.deepEqual(await ids(b.db, 'ideas'), ['i1', 'i2']);
    assert.deepEqual(errors(b), []);
  });

  it('per-collection sync (collection.enableSync) does not discover', async () => {
    const a = await db('a');
    await (await a.db.collection('ideas')).insert({ _id: 'i1' });
    await (await a.db.collection('notes')).insert({ _id: 'n1' });
    await a.db.triggerSync();
    const b = await db('b', {
      whole: false,
      setup: async (d) => (await d.collection('notes')).enableSync({ url: server.url, apiKey: KEY, dataset: DS }),
    });
    const before = listRequests();
    await b.db.triggerSync();
    await b.db.triggerSync();
    assert.equal(listRequests(), before, 'no collections request');
    assert.deepEqual(await ids(b.db, 'notes'), ['n1']);
    assert.ok(!(await b.db.getCollectionNames()).includes('ideas'));
    assert.deepEqual(errors(b), []);
  });

  it('a local collection that opted out of sync (disableSync) is left alone', async () => {
    const a = await db('a');
    await (await a.db.collection('ideas')).insert({ _id: 'i1' });
    await (await a.db.collection('private')).insert({ _id: 'p1' });
    await a.db.triggerSync();
    const b = await db('b', { setup: async (d) => void (await d.collection('notes')) });
    // (kept as a handle: db.collection('private') would enable it again, db.enableSync being on)
    const priv = await b.db.collection('private');
    await priv.disableSync();
    await b.db.triggerSync();
    await b.db.triggerSync();
    assert.deepEqual(await ids(b.db, 'ideas'), ['i1']);
    assert.equal(await priv.count(), 0, '"private" does not sync here');
    assert.equal(priv.getSyncStatus().enabled, false);
    assert.deepEqual(errors(b), []);
  });

  describe('servers and clients without the endpoint', () => {
    const seed = async (): Promise<void> => {
      const a = await db('a');
      await (await a.db.collection('ideas')).insertMany([{ _id: 'i1' }, { _id: 'i2' }]);
      await a.db.triggerSync();
    };

    for (const [label, answer] of [
      ['a 404 error (an older server)', async () => { throw Object.assign(new Error('Not Found'), { status: 404 }); }],
      ['a 404 with a statusCode and code not_found', async () => { throw Object.assign(new Error('nope'), { statusCode: 404, code: 'not_found' }); }],
      ['garbage', async () => ({ hello: 'world' })],
      ['a string', async () => '<html>not json</html>'],
      ['a changes page', async (real: HttpSyncApiClient) => real.get(`/v1/datasets/${DS}/changes?since=0`)],
    ] as [string, (real: HttpSyncApiClient, p: string) => Promise<unknown>][]) {
      it(`apiClient answering ${label}: syncs normally, no error, asked only once`, async () => {
        await seed();
        const w = withCollections(answer);
        const b = await db('b', { apiClient: w.client, setup: async (d) => void (await d.collection('ideas')) });
        await b.db.triggerSync();
        await (await b.db.collection('ideas')).insert({ _id: 'i3' });
        await b.db.triggerSync();
        assert.equal(w.asked(), 1, 'an unsupported endpoint is not asked again');
        assert.deepEqual(await ids(b.db, 'ideas'), ['i1', 'i2', 'i3']);
        assert.equal(b.db.getSyncStatus()?.pending, 0);
        assert.deepEqual(errors(b), []);
        assert.ok(!fs.existsSync(path.join(dir, 'b', 'diagnostics')), 'nothing quarantined');
        assert.ok(b.events.some((e) => e.name === 'sync:success'));
      });
    }

    it('a transient failure (503) skips discovery for that cycle only', async () => {
      await seed();
      let fail = true;
      const w = withCollections(async (real, p) => {
        if (fail) throw Object.assign(new Error('busy'), { status: 503, code: 'unavailable', retryable: true });
        return real.get(p);
      });
      const b = await db('b', { apiClient: w.client });
      await b.db.triggerSync();
      assert.ok(!(await b.db.getCollectionNames()).includes('ideas'));
      assert.deepEqual(errors(b), []);
      fail = false;
      await b.db.triggerSync();
      assert.equal(w.asked(), 2);
      assert.deepEqual(await ids(b.db, 'ideas'), ['i1', 'i2']);
    });

    it('a listed name this database cannot use is skipped with one warning, never a sync:error', async () => {
      await seed();
      const w = withCollections(async (real, p) => {
        const r = (await real.get(p)) as { collections: { name: string; head: number }[] };
        return { ...r, collections: [{ name: 'a/b', head: 1 }, { name: ' padded ', head: 1 }, { name: '_internal', head: 1 }, ...r.collections] };
      });
      const b = await db('b', { apiClient: w.client });
      await b.db.triggerSync();
      await b.db.triggerSync();
      assert.equal(w.asked(), 2);
      assert.deepEqual(await ids(b.db, 'ideas'), ['i1', 'i2']);
      assert.deepEqual((await b.db.getCollectionNames()).filter((n) => n !== '_conflicts'), ['ideas']);
      const warnings = b.events.filter((e) => e.name === 'warning').map((e) => String((e.payload as Error).message));
      assert.equal(warnings.length, 2, warnings.join('\n'));
      assert.ok(warnings.some((m) => m.includes('"a/b"')) && warnings.some((m) => m.includes('" padded "')));
      assert.deepEqual(errors(b), []);
    });
  });
});
