import assert from 'node:assert/strict';
import { parseWebviewMessage } from '../../src/extension/timeline/protocol';
import { SyncEventLog } from '../../src/extension/timeline/sync-event-log';
import { fill } from '../../src/webview/shared/dom';
import { formatTime, TimelineModel, toneOf } from '../../src/webview/timeline/model';

const ALL = { database: null, collection: null, kind: null };

function sample(): SyncEventLog {
  const log = new SyncEventLog(100);
  log.record('/a/db', 'db', 'sync:start', { dataset: 'x', collections: ['users'] }, 1000);
  log.record('/a/db', 'db', 'sync:pull_success', { collection: 'users', pulled: 2 }, 1100);
  log.record('/a/db', 'db', 'sync:success', { pushed: 1, pulled: 2, conflicts: 0, durationMs: 10 }, 1200);
  log.record('/b/db', 'db', 'sync:error', { code: 'network', message: 'down', retryable: true, attempt: 1 }, 1300);
  log.record('/b/db', 'db', 'sync:rejected', { seq: 1, coll: 'notes', id: 'n', code: 'c', detail: 'd' }, 1400);
  log.record('/b/db', 'db', 'sync:success', { pushed: 4, pulled: 0, conflicts: 0, durationMs: 10 }, 1500);
  return log;
}

describe('webview: TimelineModel', () => {
  it('shows entries newest first and filters by database, collection and kind', () => {
    const m = new TimelineModel();
    m.reset(sample().entries(), 100, ALL);
    assert.deepEqual(m.visible().map((e) => e.at), [1500, 1400, 1300, 1200, 1100, 1000]);
    m.filter = { ...ALL, database: '/b/db' };
    assert.deepEqual(m.visible().map((e) => e.kind), ['success', 'rejected', 'error']);
    m.filter = { ...ALL, collection: 'users' };
    assert.deepEqual(m.visible().map((e) => e.kind), ['pull_success']);
    m.filter = { ...ALL, kind: 'success' };
    assert.equal(m.visible().length, 2);
  });

  it('keeps at most maxEvents (the newest), ignores duplicates and sorts late arrivals', () => {
    const m = new TimelineModel();
    const entries = sample().entries();
    m.reset(entries.slice(0, 2), 3, ALL);
    m.append([entries[5], entries[1], entries[3]]);
    assert.deepEqual(m.visible().map((e) => e.at), [1500, 1300, 1100]);
    assert.equal(m.size, 3);
    m.clear();
    assert.equal(m.size, 0);
  });

  it('offers filter choices from the entries, disambiguating equal labels, keeping a stale selection', () => {
    const m = new TimelineModel();
    m.reset(sample().entries(), 100, { database: '/gone', collection: null, kind: null });
    const o = m.options();
    assert.deepEqual(o.databases.map((d) => d.label), ['/gone', 'db (/a/db)', 'db (/b/db)']);
    assert.deepEqual(o.kinds, ['error', 'pull_success', 'rejected', 'start', 'success']);
    m.filter = { ...ALL, database: '/b/db' };
    assert.deepEqual(m.options().collections, ['notes']);
  });

  it('charts the last sync cycles of the selected database, oldest first', () => {
    const m = new TimelineModel();
    m.reset(sample().entries(), 100, ALL);
    assert.deepEqual(m.cycles().map((c) => [c.pushed, c.pulled]), [[1, 2], [4, 0]]);
    assert.equal(m.cycles(1)[0].pushed, 4);
    m.filter = { ...ALL, database: '/a/db' };
    assert.deepEqual(m.cycles().map((c) => c.pushed), [1]);
  });

  it('formats, fills and tones', () => {
    assert.match(formatTime(Date.now()), /^\d\d:\d\d:\d\d\.\d\d\d$/);
    assert.equal(fill('{0} of {1} events', 2, 5), '2 of 5 events');
    assert.equal(fill('{0} {2}', 'a'), 'a {2}');
    assert.equal(toneOf('error'), 'error');
    assert.equal(toneOf('rejected'), 'error');
    assert.equal(toneOf('conflict'), 'warning');
    assert.equal(toneOf('success'), 'success');
    assert.equal(toneOf('progress'), 'info');
  });
});

describe('timeline protocol: parseWebviewMessage', () => {
  it('accepts the webview messages', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'clear' }), { type: 'clear' });
    assert.deepEqual(parseWebviewMessage({ type: 'setFilter', filter: { database: '/a', kind: 'error' } }), {
      type: 'setFilter',
      filter: { database: '/a', collection: null, kind: 'error' },
    });
    assert.deepEqual(parseWebviewMessage({ type: 'rendered', count: 2, total: 3 }), { type: 'rendered', count: 2, total: 3 });
    assert.deepEqual(parseWebviewMessage({ type: 'log', level: 'error', message: 'x' }), { type: 'log', level: 'error', message: 'x' });
    assert.deepEqual(parseWebviewMessage({ type: 'openConflict', database: '/w/.wisejson', conflictId: 'c_7' }), { type: 'openConflict', database: '/w/.wisejson', conflictId: 'c_7' });
  });

  it('rejects anything else', () => {
    for (const bad of [null, 'ready', {}, { type: 'nope' }, { type: 'setFilter', filter: { database: 1 } }, { type: 'rendered', count: '2', total: 1 }, { type: 'log', level: 'fatal', message: 'x' }, { type: 'openConflict', database: '/w' }, { type: 'openConflict', database: '', conflictId: 'c_1' }]) {
      assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
    }
  });
});
