import { strict as assert } from 'node:assert';
import { parseQueryFile, queryText } from '../../src/extension/queries/query-file';
import { HISTORY_KEY, QueryHistory, type HistoryEntry, type HistoryStore } from '../../src/extension/queries/query-history';

/** A key-value store like VS Code's workspace state: values are kept as JSON, as VS Code keeps them. */
class JsonStore implements HistoryStore {
  readonly data = new Map<string, string>();
  get<T>(key: string): T | undefined {
    const v = this.data.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }
  async update(key: string, value: unknown): Promise<void> {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, JSON.stringify(value));
  }
}

const TEXT = '{ "db": ".wisejson", "collection": "tasks", "find": { "done": false }, "sort": { "at": -1 }, "limit": 5 }';
const entry = (n: number): HistoryEntry => ({ query: parseQueryFile(TEXT).entries[0].query!, database: '/w/.wisejson', at: 1_000 + n, count: n, ms: 1.5 });

describe('query files: history and the query as text', () => {
  it('keeps runs newest first, bounded, across a new instance over the same store (a restart)', async () => {
    const store = new JsonStore();
    const history = new QueryHistory(store, 3);
    for (let n = 1; n <= 5; n++) await history.record(entry(n));
    assert.deepEqual(history.list().map((e) => e.count), [5, 4, 3]);
    const again = new QueryHistory(store, 3);
    assert.deepEqual(again.list().map((e) => e.count), [5, 4, 3]);
    assert.deepEqual(again.list()[0].query.filter, { done: false });
    await again.setCapacity(2);
    assert.deepEqual((store.get<HistoryEntry[]>(HISTORY_KEY) ?? []).map((e) => e.count), [5, 4]);
    await again.clear();
    assert.deepEqual(again.list(), []);
  });

  it('keeps nothing with a capacity of 0', async () => {
    const history = new QueryHistory(new JsonStore(), 0);
    await history.record(entry(1));
    assert.deepEqual(history.list(), []);
  });

  it('writes a query back as a query file that parses to the same query', () => {
    for (const text of [
      TEXT,
      '{ "db": "d", "collection": "c", "count": { "n": { "$gt": 1 } } }',
      '{ "db": "d", "collection": "c", "update": { "a": 1 }, "with": { "$set": { "b": 2 } } }',
      '{ "db": "d", "collection": "c", "delete": {} }',
    ]) {
      const query = parseQueryFile(text).entries[0].query!;
      const back = parseQueryFile(queryText(query));
      assert.deepEqual(back.problems, []);
      assert.deepEqual(JSON.parse(JSON.stringify(back.entries[0].query)), JSON.parse(JSON.stringify(query)));
    }
  });
});
