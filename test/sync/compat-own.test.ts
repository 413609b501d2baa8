/**
 * Compatibility across own changes (#25), with the release before them built from git history:
 * its client syncs with this server (it never asks with replica=, so every change carries its
 * body), and this client syncs with its server (which never says own: the pull brings the bodies).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { WiseJSON } from '../../src/engine';
import { KEY } from '../server/helpers';
import { DS, rmDir, ServerProcess, serverState, tmpDir } from './harness';
import { AnyDb, buildPrevious } from './previous-release';

/** The last release before own changes. */
const PREVIOUS = 'd6711cf';

describe('sync: own changes and the release before them (built from git history)', function () {
  this.timeout(180_000);
  let previous: { server: string; library: string };
  let buildDir = '';
  let dir = '';
  before(async () => {
    buildDir = await tmpDir('wisejson-previous-own-');
    previous = await buildPrevious(PREVIOUS, buildDir);
  });
  after(async () => {
    await rmDir(buildDir);
  });
  beforeEach(async () => {
    dir = await tmpDir('wisejson-compat-own-');
  });
  afterEach(async () => {
    await rmDir(dir);
  });

  const open = async (Db: new (p: string) => AnyDb, name: string, url: string): Promise<{ db: AnyDb; errors: unknown[] }> => {
    const db = new Db(path.join(dir, name));
    await db.init();
    await db.collection('notes');
    const errors: unknown[] = [];
    db.on('sync:error', (e) => errors.push(e));
    await db.enableSync({ url, apiKey: KEY, dataset: DS, syncIntervalMs: 3_600_000, live: false });
    return { db, errors };
  };
  const New = WiseJSON as unknown as new (p: string) => AnyDb;

  /** Each side writes, both sync twice; each ends with both documents at the server's versions. */
  async function bothWays(a: { db: AnyDb; errors: unknown[] }, b: { db: AnyDb; errors: unknown[] }, url: string): Promise<void> {
    await (await a.db.collection('notes')).insert({ _id: 'from-a', n: 1 });
    await (await b.db.collection('notes')).insert({ _id: 'from-b', n: 2 });
    for (let i = 0; i < 2; i++) for (const x of [a, b]) await x.db.triggerSync();
    const server = await serverState(url);
    for (const x of [a, b]) {
      const notes = await x.db.collection('notes');
      for (const id of ['from-a', 'from-b']) {
        const doc = await notes.getById(id);
        assert.equal(doc?._v, server.docs.get(`notes/${id}`)?.v, id);
      }
    }
    assert.deepEqual([...a.errors, ...b.errors], []);
  }

  it('a client of the previous release with this server', async () => {
    const server = new ServerProcess(path.join(dir, 'server'));
    await server.start();
    const Old = require(previous.library) as new (p: string) => AnyDb;
    const a = await open(Old, 'old', server.url);
    const b = await open(New, 'new', server.url);
    try {
      await bothWays(a, b, server.url);
    } finally {
      await a.db.close();
      await b.db.close();
      await server.stop();
    }
  });

  it('this client with the previous release\'s server', async () => {
    const server = new ServerProcess(path.join(dir, 'server'), [], previous.server);
    await server.start();
    const a = await open(New, 'a', server.url);
    const b = await open(New, 'b', server.url);
    try {
      await bothWays(a, b, server.url);
    } finally {
      await a.db.close();
      await b.db.close();
      await server.stop();
    }
  });
});
