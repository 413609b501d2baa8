/**
 * Hostile networks, end to end with the server as its own process (`dist/server.js`) and real
 * engines: a 413 must reach the client as a 413 (not as a connection reset), a client whose large
 * upload is cut off by a reset halves its batch instead of going offline, field names that are
 * Object.prototype members sync both ways, and the proxy exemption of loopback hosts.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { WiseJSON } from '../../src/engine';
import { HttpSyncApiClient, proxyFromEnv, SyncHttpError } from '../../src/sync/api-client';
import { KEY, Replica } from '../server/helpers';
import { DS, liveDocs, rmDir, ServerProcess, serverState, tmpDir } from './harness';

describe('sync: hostile networks and names', function () {
  this.timeout(120_000);
  let dir = '';
  let server: ServerProcess;
  beforeEach(async () => {
    dir = await tmpDir('wisejson-sync-hard-');
    server = new ServerProcess(path.join(dir, 'server'));
    await server.start();
  });
  afterEach(async () => {
    await server.stop();
    await rmDir(dir);
  });

  /** POSTs `bytes` of body with a Content-Length on a new connection; the status, or the socket error. */
  const postLarge = (url: string, bytes: number): Promise<number | string> => new Promise((resolve) => {
    const u = new URL(url);
    const req = http.request({
      host: u.hostname, port: u.port, method: 'POST', path: `/v1/datasets/${DS}/push`, agent: false,
      headers: { 'Sync-Protocol': '1', Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json', 'Content-Length': String(bytes) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    const chunk = Buffer.alloc(64 * 1024, 0x78);
    let sent = 0;
    const more = (): void => {
      while (sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', more);
          return;
        }
      }
      req.end();
    };
    more();
  });

  it('a push above maxPushBytes gets its 413, never a connection reset (raw HTTP and the project\'s client)', async () => {
    const raw: (number | string)[] = [];
    for (let i = 0; i < 6; i++) raw.push(await postLarge(server.url, 5 * 1024 * 1024));
    assert.deepEqual(raw, Array(6).fill(413));
    const client = new HttpSyncApiClient(server.url, KEY);
    try {
      const got: string[] = [];
      for (let i = 0; i < 6; i++) {
        const a = new Replica(`r${i}`);
        const body = a.body(Array.from({ length: 500 }, (_, k) => a.put('c', `d${k}`, { pad: 'x'.repeat(10_000) })));
        got.push(await client.post(`/v1/datasets/${DS}/push`, body).then(() => 'ok', (e: SyncHttpError) => `${e.status} ${e.code}`));
      }
      assert.deepEqual(got, Array(6).fill('413 payload_too_large'));
      // The connection stays usable: the next small push on it succeeds.
      const a = new Replica('rOk');
      await client.post(`/v1/datasets/${DS}/push`, a.body([a.put('c', 'small', { n: 1 })]));
    } finally {
      await client.close();
    }
    assert.equal((await serverState(server.url)).head, 1, 'nothing of the refused pushes was applied');
  });

  /**
   * A TCP proxy that resets the connection when a client sends more than `limit` bytes without an
   * answer in between: what a reverse proxy with a body limit that closes at once looks like.
   */
  const resettingProxy = async (target: string, limit: number): Promise<{ url: string; resets: () => number; close: () => Promise<void> }> => {
    const t = new URL(target);
    let resets = 0;
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(t.port), t.hostname);
      sockets.add(client).add(upstream);
      let unanswered = 0;
      client.on('data', (c: Buffer) => {
        unanswered += c.length;
        if (unanswered > limit) {
          resets++;
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
        upstream.write(c);
      });
      upstream.on('data', (c: Buffer) => {
        unanswered = 0;
        client.write(c);
      });
      const end = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as net.AddressInfo).port;
    return {
      url: `http://127.0.0.1:${port}`,
      resets: () => resets,
      close: async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => proxy.close(() => r()));
      },
    };
  };

  it('a client whose large push is cut off by a connection reset halves its batch: everything arrives in one cycle', async () => {
    const proxy = await resettingProxy(server.url, 1024 * 1024);
    const db = new WiseJSON(path.join(dir, 'client'));
    await db.init();
    const errors: unknown[] = [];
    db.on('sync:error', (e: unknown) => errors.push(e));
    try {
      const notes = await db.collection('notes');
      await notes.insertMany(Array.from({ length: 500 }, (_, k) => ({ _id: `d${k}`, pad: 'x'.repeat(10_000) })));
      await db.enableSync({ url: proxy.url, apiKey: KEY, dataset: 'team', syncIntervalMs: 3_600_000 });
      await db.triggerSync();
      assert.deepEqual(errors, []);
      assert.ok(proxy.resets() >= 2, `the proxy reset the large pushes (${proxy.resets()})`);
      assert.equal(db.getSyncStatus()?.pending, 0);
      assert.equal(liveDocs(await serverState(server.url), 'notes').size, 500);
    } finally {
      await db.close();
      await proxy.close();
    }
  });

  it('one change too large for any push is a sync:error naming it and the limit; the changes behind it still sync', async () => {
    const db = new WiseJSON(path.join(dir, 'client'));
    await db.init();
    const errors: { code: string; message: string; coll?: string; id?: string }[] = [];
    db.on('sync:error', (e: { code: string; message: string; coll?: string; id?: string }) => errors.push(e));
    try {
      const notes = await db.collection('notes');
      await notes.insert({ _id: 'before', n: 1 });
      await notes.insert({ _id: 'big', pad: 'x'.repeat(5 * 1024 * 1024) }); // above maxPushBytes (4 MiB)
      await notes.insert({ _id: 'after', n: 2 });
      await db.enableSync({ url: server.url, apiKey: KEY, dataset: DS, syncIntervalMs: 3_600_000 });
      await db.triggerSync();
      assert.deepEqual(errors.map((e) => [e.code, e.coll, e.id]), [['payload_too_large', 'notes', 'big']]);
      assert.match(errors[0].message, /"big" of "notes"/);
      assert.match(errors[0].message, /4194304 bytes \(maxPushBytes\)/);
      assert.deepEqual([...liveDocs(await serverState(server.url), 'notes').keys()].sort(), ['after', 'before']);
      assert.equal(db.getSyncStatus()?.pending, 0);
      assert.equal(((await notes.getById('big'))?.pad as string).length, 5 * 1024 * 1024, 'the document is kept locally');
      // Sync goes on: the next change syncs, with no new error.
      await notes.insert({ _id: 'later', n: 3 });
      await db.triggerSync();
      assert.equal(errors.length, 1);
      assert.ok(liveDocs(await serverState(server.url), 'notes').has('later'));
    } finally {
      await db.close();
    }
  });

  it('fields named like Object.prototype members sync both ways: set, changed, removed', async () => {
    const open = async (name: string): Promise<WiseJSON> => {
      const db = new WiseJSON(path.join(dir, name));
      await db.init();
      await db.enableSync({ url: server.url, apiKey: KEY, dataset: 'team', syncIntervalMs: 3_600_000 });
      return db;
    };
    const a = await open('a');
    const b = await open('b');
    try {
      const names = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];
      const notes = await a.collection('notes');
      await notes.insert({ _id: 'n1', a: 1 });
      await a.triggerSync();
      await b.triggerSync();
      await notes.update('n1', Object.fromEntries(names.map((n) => [n, `${n}-1`])));
      await a.triggerSync();
      await b.triggerSync();
      const seen = await (await b.collection('notes')).getById('n1');
      for (const n of names) assert.equal(Object.prototype.hasOwnProperty.call(seen, n) && seen![n], `${n}-1`, `${n} reached b`);
      // b changes one and removes another; a sees both.
      const bn = await b.collection('notes');
      await bn.update('n1', { $set: { valueOf: 'valueOf-2' }, $unset: { toString: '' } });
      await b.triggerSync();
      await a.triggerSync();
      const back = (await notes.getById('n1'))!;
      assert.equal(back.valueOf, 'valueOf-2');
      assert.equal(Object.prototype.hasOwnProperty.call(back, 'toString'), false, 'the removal of "toString" synced');
      assert.equal(back.constructor, 'constructor-1');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a key sent over plain http:// to another host: one sync:warning per URL, and the status says so', async () => {
    const open = async (name: string, url: string): Promise<{ db: WiseJSON; warnings: { code: string; message: string }[] }> => {
      const db = new WiseJSON(path.join(dir, name));
      await db.init();
      await db.collection('notes');
      const warnings: { code: string; message: string }[] = [];
      db.on('sync:warning', (w: { code: string; message: string }) => warnings.push(w));
      // No cycle runs (hour-long interval, no trigger): no request leaves this machine.
      await db.enableSync({ url, apiKey: KEY, dataset: DS, syncIntervalMs: 3_600_000 });
      return { db, warnings };
    };
    const remote = 'http://sync.example.com:8080';
    const a = await open('a', remote);
    const b = await open('b', remote);
    const local = await open('c', server.url);
    const tls = await open('d', 'https://sync.example.com');
    try {
      assert.deepEqual(a.warnings.map((w) => w.code), ['insecure_transport']);
      assert.match(a.warnings[0].message, /http:\/\/sync\.example\.com:8080 .*https:\/\//);
      assert.ok(!a.warnings[0].message.includes(KEY), 'the key is never in a message');
      assert.deepEqual(b.warnings, [], 'once per URL');
      assert.equal(a.db.getSyncStatus()?.warning?.code, 'insecure_transport');
      assert.equal(b.db.getSyncStatus()?.warning?.code, 'insecure_transport', 'the status keeps showing it');
      for (const x of [local, tls]) {
        assert.deepEqual(x.warnings, []);
        assert.equal(x.db.getSyncStatus()?.warning, null);
      }
    } finally {
      for (const x of [a, b, local, tls]) await x.db.close();
    }
  });

  it('the proxy exemption knows loopback hosts, IPv6 included', () => {
    const env = { HTTP_PROXY: 'http://proxy.example:3128', HTTPS_PROXY: 'http://proxy.example:3128' };
    for (const u of ['http://[::1]:3000/', 'http://127.0.0.1:3000/', 'http://127.1.2.3/', 'http://localhost:3000/', 'https://LOCALHOST/']) {
      assert.equal(proxyFromEnv(new URL(u), env), null, u);
    }
    assert.equal(proxyFromEnv(new URL('http://sync.example.com/'), env), 'http://proxy.example:3128');
    assert.equal(proxyFromEnv(new URL('http://[2001:db8::1]/'), env), 'http://proxy.example:3128');
    assert.equal(proxyFromEnv(new URL('http://sync.example.com/'), { ...env, NO_PROXY: '.example.com' }), null);
  });
});
