import { strict as assert } from 'node:assert';
import { entryAt, parseQueryFile } from '../../src/extension/queries/query-file';

/** Plain data (the parser gives objects without a prototype, so "__proto__" is a field like any other). */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

const EXAMPLE = `[
  // open tasks, newest first
  { "db": ".wisejson", "collection": "tasks", "find": { "done": false },
    "sort": { "updatedAt": -1 }, "projection": { "title": 1 }, "limit": 50 },
  { "db": ".wisejson", "collection": "tasks", "count": { "done": true } },
  { "db": ".wisejson", "collection": "tasks", "update": { "done": false },
    "with": { "$set": { "stale": true } } },
  { "db": ".wisejson", "collection": "tasks", "delete": { "stale": true } }, // trailing comma allowed
]`;

describe('query files (*.wjq): parsing', () => {
  it('reads the example of the issue: four queries with their places, comments and a trailing comma allowed', () => {
    const f = parseQueryFile(EXAMPLE);
    assert.deepEqual(f.problems, []);
    assert.deepEqual(f.entries.map((e) => e.query?.kind), ['find', 'count', 'update', 'delete']);
    assert.deepEqual(plain(f.entries[0].query), { db: '.wisejson', collection: 'tasks', kind: 'find', filter: { done: false }, sort: { updatedAt: -1 }, projection: { title: 1 }, limit: 50 });
    assert.deepEqual(plain(f.entries[2].query?.with), { $set: { stale: true } });
    for (const e of f.entries) assert.equal(EXAMPLE[e.offset], '{');
    // The query under the cursor: inside the second one, and on the line after the third.
    assert.equal(entryAt(f, EXAMPLE.indexOf('"count"'))?.query?.kind, 'count');
    assert.equal(entryAt(f, EXAMPLE.indexOf('"$set"'))?.query?.kind, 'update');
    assert.equal(entryAt(f, 0), undefined);
  });

  it('a field named __proto__ in a filter is a field like any other', () => {
    const f = parseQueryFile('{ "db": "d", "collection": "c", "find": { "__proto__": { "x": 1 } } }');
    const filter = f.entries[0].query!.filter;
    assert.deepEqual(Object.keys(filter), ['__proto__']);
    assert.equal(Object.getPrototypeOf(filter), null);
  });

  it('a single query object is a file too', () => {
    const f = parseQueryFile('{ "db": "data", "collection": "notes", "find": {} }');
    assert.deepEqual(plain(f.entries.map((e) => e.query)), [{ db: 'data', collection: 'notes', kind: 'find', filter: {} }]);
  });

  it('reports each problem at its place; one bad query leaves the others usable', () => {
    const text = `[
  { "collection": "tasks", "find": {} },
  { "db": "d", "collection": "tasks", "find": {}, "count": {} },
  { "db": "d", "collection": "tasks", "update": { "a": 1 } },
  { "db": "d", "collection": "tasks", "count": {}, "limit": 5 },
  { "db": "d", "collection": "tasks", "find": {}, "limit": -1, "sort": { "a": 2 }, "colour": "red" },
  { "db": "d", "collection": "tasks", "find": [] },
  { "db": "d", "collection": "tasks", "delete": {} },
  42
]`;
    const f = parseQueryFile(text);
    const messages = f.entries.map((e) => e.problems.map((p) => p.message).join(' | '));
    assert.match(messages[0], /has no "db"/);
    assert.match(messages[1], /One query does one thing: "find" and "count"/);
    assert.match(messages[2], /An update needs "with"/);
    assert.match(messages[3], /"limit" goes with "find" only/);
    assert.match(messages[4], /"limit" must be a whole number/);
    assert.match(messages[4], /Invalid sort direction 2 for "a": use 1 \(ascending\) or -1/);
    assert.match(messages[4], /Unknown key "colour"/);
    assert.match(messages[5], /"find" must be an object/);
    assert.equal(messages[6], '');
    assert.deepEqual(f.entries.map((e) => e.query === null), [true, true, true, true, true, true, false]);
    assert.equal(f.problems.length, 1);
    assert.match(f.problems[0].message, /A query is an object/);
    assert.equal(text.slice(f.problems[0].offset, f.problems[0].offset + f.problems[0].length), '42');
    const colour = f.entries[4].problems.find((p) => p.message.startsWith('Unknown key'))!;
    assert.equal(text.slice(colour.offset, colour.offset + colour.length), '"colour"');
  });

  it('JSON syntax errors come with their place, and the queries that parse are still there', () => {
    const text = '[ { "db": "d", "collection": "c", "find": {} }, { "db": "d" "collection": "c", "count": {} } ]';
    const f = parseQueryFile(text);
    assert.ok(f.problems.some((p) => p.message === 'JSON syntax: comma expected.' && p.offset === text.indexOf('"collection": "c", "count"')), JSON.stringify(f.problems));
    assert.equal(f.entries[0].query?.kind, 'find');
    assert.deepEqual(parseQueryFile('').entries, []);
  });

  describe('the filter, sort, projection and change, checked by the engine\'s own code, each problem where it is', () => {
    /** The text each problem of the first query covers, with the engine's message. */
    const problems = (queryText: string): [string, string][] => {
      const f = parseQueryFile(queryText);
      return f.entries[0].problems.map((p) => [queryText.slice(p.offset, p.offset + p.length), p.message]);
    };
    const q = (rest: string) => `{ "db": "d", "collection": "c", ${rest} }`;

    it('a bad operator: the operator, with the engine\'s message', () => {
      const [[where, message]] = problems(q('"find": { "a": 1, "b": { "$gt": 1, "$in": 3 } }'));
      assert.equal(where, '"$in": 3');
      assert.match(message, /"\$in" for "b" needs an array of values/);
      const [[unknown, m2]] = problems(q('"count": { "rank": { "$near": 1 } }'));
      assert.equal(unknown, '"rank": { "$near": 1 }');
      assert.match(m2, /Unknown query operator "\$near".*Supported operators: \$eq/);
    });

    it('inside $or: the item\'s condition; $options beside its $regex is not blamed for it', () => {
      const [[where, message]] = problems(q('"find": { "$or": [{ "a": 1 }, { "tags": { "$size": -1 } }] }'));
      assert.equal(where, '"tags": { "$size": -1 }');
      assert.match(message, /"\$size" for "tags" needs a non-negative integer/);
      const [[regex, m2]] = problems(q('"find": { "name": { "$regex": "(", "$options": "i" } }'));
      assert.equal(regex, '"$regex": "("');
      assert.match(m2, /not a valid regular expression/);
      assert.deepEqual(problems(q('"find": { "name": { "$regex": "^a", "$options": "i" } }')), []);
      const [[options]] = problems(q('"find": { "name": { "$options": "i", "$eq": "x" } }'));
      assert.equal(options, '"$options": "i"');
    });

    it('sort and projection: what the engine accepts ("asc" too), and the entry it refuses', () => {
      assert.deepEqual(problems(q('"find": {}, "sort": { "a": "asc", "b": -1 }, "projection": { "a": 1, "b.c": 1 }')), []);
      const [[sort]] = problems(q('"find": {}, "sort": { "a": 1, "b": "up" }'));
      assert.equal(sort, '"b": "up"');
      const [[projection, message]] = problems(q('"find": {}, "projection": { "a": 1, "b": 2 }'));
      assert.equal(projection, '"b": 2');
      assert.match(message, /use 1 \(include\) or 0 \(exclude\)/);
    });

    it('the change of an update: the operator or field the engine refuses; a merge is fine', () => {
      assert.deepEqual(problems(q('"update": {}, "with": { "stale": true, "n": 2 }')), []);
      assert.deepEqual(problems(q('"update": {}, "with": { "$set": { "a.b": 1 }, "$inc": { "n": 1 }, "$push": { "tags": "x" } }')), []);
      const [[id, m1]] = problems(q('"update": {}, "with": { "$set": { "title": "x", "_id": "y" } }'));
      assert.equal(id, '"_id": "y"');
      assert.match(m1, /"_id" is managed by the database/);
      const [[inc]] = problems(q('"update": {}, "with": { "$inc": { "n": "one" } }'));
      assert.equal(inc, '"n": "one"');
      const [[op, m3]] = problems(q('"update": {}, "with": { "$bogus": { "a": 1 } }'));
      assert.equal(op, '"$bogus": { "a": 1 }');
      assert.match(m3, /Unknown update operator "\$bogus"/);
      const [[mixed, m4]] = problems(q('"update": {}, "with": { "$set": { "a": 1 }, "b": 2 }'));
      assert.equal(mixed, '{ "$set": { "a": 1 }, "b": 2 }');
      assert.match(m4, /mixes operators/);
    });
  });
});
