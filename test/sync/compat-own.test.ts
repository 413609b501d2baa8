/**
 * Compatibility across own changes (#25), with the release before them built from git history:
 * its client syncs with this server (it never asks with replica=, so every change carries its
 * body), and this client syncs with its server (which never says own: the pull brings the bodies).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { WiseJSON } from '../../src/engine';
import { ServerProcess, serverState } from './harness';
import { AnyDb, usePreviousRelease } from './previous-release';

/** The last release before own changes. */
const PREVIOUS = 'd6711cf';

describe('sync: own changes and the release before them (built from git history)', function () {
  this.timeout(180_000);
  const setup = usePreviousRelease(PREVIOUS, { live: false });
  const New = WiseJSON as unknown as new (p: string) => AnyDb;

  /**
   * A server (this release's or the previous one's) and two clients `a` and `b` of the given
   * releases: each writes, both sync twice, and each ends with both documents at the server's
   * versions, without a sync error.
   */
  async function bothWays(serverJs: string | undefined, A: new (p: string) => AnyDb, B: new (p: string) => AnyDb): Promise<void> {
    const server = new ServerProcess(path.join(setup.dir(), 'server'), [], serverJs);
    await server.start();
    const a = await setup.open(A, 'a', server.url);
    const b = await setup.open(B, 'b', server.url);
    try {
      await (await a.db.collection('notes')).insert({ _id: 'from-a', n: 1 });
      await (await b.db.collection('notes')).insert({ _id: 'from-b', n: 2 });
      for (let i = 0; i < 2; i++) for (const x of [a, b]) await x.db.triggerSync();
      const state = await serverState(server.url);
      for (const x of [a, b]) {
        const notes = await x.db.collection('notes');
        for (const id of ['from-a', 'from-b']) assert.equal((await notes.getById(id))?._v, state.docs.get(`notes/${id}`)?.v, id);
      }
      assert.deepEqual([...a.errors, ...b.errors], []);
    } finally {
      await a.db.close();
      await b.db.close();
      await server.stop();
    }
  }

  it('a client of the previous release with this server', async () => {
    await bothWays(undefined, require(setup.previous().library) as new (p: string) => AnyDb, New);
  });

  it('this client with the previous release\'s server', async () => {
    await bothWays(setup.previous().server, New, New);
  });
});
