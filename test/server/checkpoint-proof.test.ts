/**
 * Restore detection a client cannot trigger: every page carries the server's proof of its
 * checkpoint (an HMAC under a secret kept with the dataset, so a restored server still knows the
 * proofs it issued before the backup). A checkpoint ahead of the head starts a new epoch only
 * with a valid proof; otherwise it is 400 invalid_checkpoint and nothing changes.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { WiseJSON } from '../../src/engine';
import { parseInfoResponse } from '../../src/sync/protocol';
import { expectProblem, Replica, useServer } from './helpers';
import { itEmbedded } from '../postgres/cluster';

describe('server: checkpoint proofs', () => {
  const t = useServer();

  it('a checkpoint ahead of the head without the server\'s proof is 400 invalid_checkpoint and changes nothing (GET and push)', async () => {
    const api = t.api();
    const a = new Replica('rA');
    await api.push('ds', a.body([a.put('c', 'x', {}), a.put('c', 'y', {})]));
    const before = await api.changes('ds');
    const epoch = before.epoch;
    for (const since of [`${epoch}:${before.head + 1000}`, `${epoch}:${before.head + 1}`, `${epoch}:999999`]) {
      const p = expectProblem(await api.changesRaw('ds', { since }), 400, 'invalid_checkpoint');
      assert.equal(p.epoch, epoch, 'no new epoch');
    }
    // A proof of another checkpoint, or a made-up one, does not help.
    expectProblem(await api.changesRaw('ds', { since: `${epoch}:${before.head + 5}`, proof: before.checkpointProof! }), 400, 'invalid_checkpoint');
    expectProblem(await api.changesRaw('ds', { since: `${epoch}:${before.head + 5}`, proof: 'A'.repeat(32) }), 400, 'invalid_checkpoint');
    // Pushes with such a checkpoint: refused, nothing applied, no new epoch.
    const b = new Replica('rB');
    await api.pushProblem('ds', { ...b.body([b.put('c', 'z', {})], epoch), checkpoint: `${epoch}:${before.head + 1000}` }, 400, 'invalid_checkpoint');
    await api.pushProblem('ds', { ...b.body([b.put('c', 'z', {})], epoch), checkpoint: `${epoch}:${before.head + 1000}`, checkpointProof: before.checkpointProof }, 400, 'invalid_checkpoint');
    const after = await api.changes('ds');
    assert.deepEqual([after.epoch, after.head, after.epochStart], [epoch, before.head, 0]);
    // Other clients carry on: their checkpoint is still good.
    const next = await api.push('ds', { ...a.body([a.put('c', 'w', {})], epoch), checkpoint: before.checkpoint, checkpointProof: before.checkpointProof });
    assert.equal(next.results[0].status, 'applied');
    assert.equal((await api.changes('ds', { since: before.checkpoint })).changes.length, 1);
    expectProblem(await api.changesRaw('ds', { since: before.checkpoint, proof: 'not a proof!' }), 400, 'invalid_request');
  });

  it('every page carries a proof of its checkpoint, stable across restarts', async () => {
    const api = t.api();
    const a = new Replica('rA');
    await api.push('ds', a.body([a.put('c', 'x', {})]));
    const p1 = await api.changes('ds');
    assert.match(p1.checkpointProof ?? '', /^[A-Za-z0-9_-]{32}$/);
    await t.restart();
    const p2 = await t.api().changes('ds');
    assert.deepEqual([p2.checkpoint, p2.checkpointProof], [p1.checkpoint, p1.checkpointProof]);
  });

  itEmbedded('data of an earlier version (datasets without a proof key) gets one on open, once', async () => {
    const api = t.api();
    const a = new Replica('rA');
    await api.push('ds', a.body([a.put('c', 'x', {})]));
    await t.stop();
    // Take the key away as an earlier server wrote the row (no `secret`).
    const db = new WiseJSON(path.join(t.dir, 'db'));
    await db.init();
    const datasets = await db.collection('sync.datasets');
    const row = (await datasets.getById('ds'))!;
    const { secret: _secret, ...old } = row as Record<string, unknown>;
    await datasets.remove('ds');
    await datasets.insert(old);
    assert.equal((await datasets.getById('ds'))!.secret, undefined);
    await db.close();
    await t.start();
    const p1 = await t.api().changes('ds');
    assert.equal(p1.head, 1);
    assert.ok(p1.checkpointProof);
    await t.restart();
    assert.equal((await t.api().changes('ds')).checkpointProof, p1.checkpointProof, 'the new key was stored');
  });

  it('/v1/info announces the capability', async () => {
    const info = parseInfoResponse((await t.api().request('GET', '/v1/info')).json);
    assert.ok(info.capabilities?.includes('checkpoint_proof'), JSON.stringify(info.capabilities));
  });
});
