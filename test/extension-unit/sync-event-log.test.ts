import assert from 'node:assert/strict';
import { DEFAULT_CAPACITY, SyncEventLog, type SyncEventEntry } from '../../src/extension/timeline/sync-event-log';

const DB = '/work/app/db';

describe('extension: SyncEventLog', () => {
  describe('capacity and ordering', () => {
    it('keeps entries oldest first with increasing seq', () => {
      const log = new SyncEventLog(10);
      const a = log.record(DB, 'db', 'sync:start', { dataset: 'app', collections: ['users'] }, 1000);
      const b = log.record(DB, 'db', 'sync:success', { pushed: 1, pulled: 2, conflicts: 0, durationMs: 5 }, 2000);
      assert.deepEqual(log.entries().map((e) => e.seq), [a.seq, b.seq]);
      assert.ok(b.seq > a.seq);
      assert.equal(a.at, 1000);
    });

    it('drops the oldest entries beyond capacity', () => {
      const log = new SyncEventLog(3);
      for (let i = 0; i < 5; i++) log.record(DB, 'db', 'sync:start', {}, 1000 + i);
      assert.deepEqual(log.entries().map((e) => e.at), [1002, 1003, 1004]);
      assert.equal(log.size, 3);
    });

    it('places a late event with an earlier timestamp in time order (equal times keep arrival order)', () => {
      const log = new SyncEventLog(10);
      log.record(DB, 'db', 'sync:start', {}, 1000);
      log.record(DB, 'db', 'sync:success', {}, 3000);
      const late = log.record(DB, 'db', 'sync:push_success', { pushed: 1 }, 2000);
      const tie = log.record(DB, 'db', 'sync:pull_success', { collection: 'c', pulled: 0 }, 2000);
      assert.deepEqual(log.entries().map((e) => e.kind), ['start', 'push_success', 'pull_success', 'success']);
      assert.ok(tie.seq > late.seq);
    });

    it('setCapacity trims to the newest entries', () => {
      const log = new SyncEventLog(5);
      const seen: number[] = [];
      log.onDidChangeCapacity((n) => seen.push(n));
      for (let i = 0; i < 5; i++) log.record(DB, 'db', 'sync:start', {}, i);
      log.setCapacity(2);
      assert.deepEqual(log.entries().map((e) => e.at), [3, 4]);
      assert.equal(log.capacity, 2);
      log.setCapacity(2);
      assert.deepEqual(seen, [2]);
    });

    it('normalizes a bad capacity (it comes from a user setting) instead of throwing', () => {
      assert.equal(new SyncEventLog(0).capacity, 1);
      assert.equal(new SyncEventLog(-5).capacity, 1);
      assert.equal(new SyncEventLog(2.7).capacity, 2);
      assert.equal(new SyncEventLog(NaN).capacity, DEFAULT_CAPACITY);
      assert.equal(new SyncEventLog('50' as unknown as number).capacity, DEFAULT_CAPACITY);
      const log = new SyncEventLog(10);
      log.setCapacity(undefined as unknown as number);
      assert.equal(log.capacity, 10);
      log.setCapacity(0);
      assert.equal(log.capacity, 1);
    });

    it('clear drops everything, seq keeps increasing, listeners hear it', () => {
      const log = new SyncEventLog(5);
      const first = log.record(DB, 'db', 'sync:start', {});
      let cleared = 0;
      log.onDidClear(() => cleared++);
      log.clear();
      assert.equal(log.entries().length, 0);
      assert.equal(cleared, 1);
      assert.ok(log.record(DB, 'db', 'sync:start', {}).seq > first.seq);
    });

    it('entries() is a snapshot and entries are frozen', () => {
      const log = new SyncEventLog(5);
      const e = log.record(DB, 'db', 'sync:start', {});
      const snapshot = log.entries();
      log.record(DB, 'db', 'sync:start', {});
      assert.equal(snapshot.length, 1);
      assert.ok(Object.isFrozen(e));
    });

    it('defaults `at` to now', () => {
      const before = Date.now();
      const e = new SyncEventLog(1).record(DB, 'db', 'sync:start', {});
      assert.ok(e.at >= before && e.at <= Date.now());
    });
  });

  describe('fields', () => {
    it('takes the kind from the event name, with or without the prefix', () => {
      const log = new SyncEventLog(5);
      assert.equal(log.record(DB, 'db', 'sync:push_success', {}).kind, 'push_success');
      assert.equal(log.record(DB, 'db', 'paused', { reason: 'x' }).kind, 'paused');
    });

    it('keeps the database id and label', () => {
      const e = new SyncEventLog(5).record(DB, 'app/db', 'sync:start', {});
      assert.equal(e.database, DB);
      assert.equal(e.databaseLabel, 'app/db');
    });

    it('extracts the collection from `collection` or `coll`, null otherwise', () => {
      const log = new SyncEventLog(10);
      assert.equal(log.record(DB, 'db', 'sync:pull_success', { collection: 'users', pulled: 1, checkpoint: 'c' }).collection, 'users');
      assert.equal(log.record(DB, 'db', 'sync:rejected', { seq: 1, coll: 'notes', id: 'n1', code: 'x', detail: 'y' }).collection, 'notes');
      assert.equal(log.record(DB, 'db', 'sync:start', { dataset: 'd', collections: ['a', 'b'] }).collection, null);
      assert.equal(log.record(DB, 'db', 'sync:conflict', { conflictId: 'c1', record: {} }).collection, null);
      assert.equal(log.record(DB, 'db', 'sync:conflict', { seq: 2, coll: undefined, id: undefined, conflictId: 'c2' }).collection, null);
      assert.equal(log.record(DB, 'db', 'sync:progress', { phase: 'pull', collection: 'tasks', done: 3, head: 'h' }).collection, 'tasks');
    });
  });

  describe('summary', () => {
    const cases: Array<[string, unknown, string]> = [
      ['sync:start', { dataset: 'app', collections: ['users', 'notes'] }, 'syncing 2 collections (users, notes) with dataset app'],
      ['sync:start', { dataset: 'app', collections: [] }, 'sync started with dataset app'],
      ['sync:success', { pushed: 3, pulled: 5, conflicts: 0, checkpoint: 'x', durationMs: 120 }, 'pushed 3, pulled 5, 0 conflicts in 120 ms'],
      ['sync:success', { pushed: 0, pulled: 1, conflicts: 1, checkpoint: null, durationMs: 7.6 }, 'pushed 0, pulled 1, 1 conflict in 8 ms'],
      [
        'sync:error',
        { code: 'unauthorized', message: 'Sync is paused: the server refused the API key. Set a new key to resume.', retryable: false, attempt: 0, nextRetryAt: null, status: 401 },
        'error unauthorized: Sync is paused: the server refused the API key. Set a new key to resume.',
      ],
      ['sync:error', { code: 'network', message: 'fetch failed', retryable: true, attempt: 2, nextRetryAt: '2026-01-01T00:00:00.000Z', status: null }, 'error network: fetch failed (will retry, attempt 2)'],
      ['sync:push_success', { pushed: 1, ackSeq: 42 }, 'pushed 1 change (acknowledged up to seq 42)'],
      ['sync:pull_success', { collection: 'users', pulled: 5, checkpoint: 'c' }, 'pulled 5 changes into users'],
      ['sync:conflict', { seq: 4, coll: 'users', id: 'u1', conflictId: 'k9' }, 'conflict on users/u1 (conflict k9)'],
      ['sync:conflict', { conflictId: 'k9', record: { a: 1 } }, 'conflict k9 recorded'],
      ['sync:rejected', { seq: 7, coll: 'users', id: 'u1', code: 'too_large', detail: 'document exceeds 1 MB' }, 'rejected users/u1 (seq 7): too_large — document exceeds 1 MB'],
      ['sync:progress', { phase: 'push', done: 10, total: 20 }, 'pushing: 10 of 20'],
      ['sync:progress', { phase: 'pull', collection: 'users', done: 3, head: 'h' }, 'pulling users: 3 so far'],
      ['sync:reset', { collection: 'users', reason: 'cursor_expired' }, 'cursor reset for users: cursor expired'],
      ['sync:paused', { reason: 'another_process' }, 'sync paused: another process'],
      ['sync:resumed', { reason: 'api_key_changed' }, 'sync resumed: api key changed'],
      ['sync:quarantine', { reason: 'bad JSON', file: '/db/_sync/bad-1.json' }, 'malformed server response quarantined: bad JSON (saved in /db/_sync/bad-1.json)'],
      ['sync:something_new', { a: 1, b: 'two' }, 'something_new: a=1, b=two'],
      ['sync:something_new', undefined, 'something_new'],
    ];
    for (const [event, payload, expected] of cases) {
      it(`${event} ${JSON.stringify(payload) ?? ''}`, () => {
        assert.equal(new SyncEventLog(1).record(DB, 'db', event, payload).summary, expected);
      });
    }

    it('survives payloads of the wrong shape', () => {
      const log = new SyncEventLog(10);
      assert.equal(log.record(DB, 'db', 'sync:success', { pushed: 'many' }).summary, 'pushed 0, pulled 0, 0 conflicts');
      assert.equal(log.record(DB, 'db', 'sync:error', null).summary, 'error unknown');
      assert.equal(log.record(DB, 'db', 'sync:start', 'weird').details.value, 'weird');
    });
  });

  describe('details', () => {
    it('are the payload, JSON-safe', () => {
      const cyclic: Record<string, unknown> = { name: 'loop' };
      cyclic.self = cyclic;
      const e = new SyncEventLog(1).record(DB, 'db', 'sync:conflict', {
        conflictId: 'c1',
        record: { when: new Date('2026-01-02T03:04:05.000Z'), big: 10n, fn: () => 1, nan: NaN, nested: cyclic, list: [1, undefined] },
      });
      assert.deepEqual(e.details, {
        conflictId: 'c1',
        record: { when: '2026-01-02T03:04:05.000Z', big: '10', nan: null, nested: { name: 'loop', self: '[circular]' }, list: [1, null] },
      });
      assert.deepEqual(JSON.parse(JSON.stringify(e.details)), e.details);
    });

    it('never keep an apiKey field, at any depth or spelling', () => {
      const e = new SyncEventLog(1).record(DB, 'db', 'sync:error', {
        code: 'config',
        message: 'bad',
        apiKey: 'secret-1',
        config: { url: 'http://x', api_key: 'secret-2', nested: [{ APIKEY: 'secret-3', ok: true }] },
      });
      const text = JSON.stringify(e);
      assert.ok(!text.includes('secret'), text);
      assert.deepEqual(e.details.config, { url: 'http://x', nested: [{ ok: true }] });
    });

    it('do not share objects with the payload', () => {
      const payload = { collection: 'users', pulled: 1, extra: { a: 1 } };
      const e = new SyncEventLog(1).record(DB, 'db', 'sync:pull_success', payload);
      payload.extra.a = 2;
      assert.deepEqual(e.details.extra, { a: 1 });
    });
  });

  describe('listeners', () => {
    it('hear every record, in order, until disposed', () => {
      const log = new SyncEventLog(5);
      const heard: SyncEventEntry[] = [];
      const sub = log.onDidRecord((e) => heard.push(e));
      const a = log.record(DB, 'db', 'sync:start', {});
      const b = log.record(DB, 'db', 'sync:success', {});
      sub.dispose();
      log.record(DB, 'db', 'sync:start', {});
      assert.deepEqual(heard, [a, b]);
    });

    it('a throwing listener neither breaks record() nor the other listeners', () => {
      const errors: unknown[] = [];
      const log = new SyncEventLog(5, { onListenerError: (err) => errors.push(err) });
      let heard = 0;
      log.onDidRecord(() => {
        throw new Error('boom');
      });
      log.onDidRecord(() => heard++);
      const e = log.record(DB, 'db', 'sync:start', {});
      assert.equal(heard, 1);
      assert.equal(log.entries()[0], e);
      assert.equal((errors[0] as Error).message, 'boom');
    });

    it('a listener may dispose itself while being called', () => {
      const log = new SyncEventLog(5);
      let calls = 0;
      const sub = log.onDidRecord(() => {
        calls++;
        sub.dispose();
      });
      log.record(DB, 'db', 'sync:start', {});
      log.record(DB, 'db', 'sync:start', {});
      assert.equal(calls, 1);
    });
  });
});
