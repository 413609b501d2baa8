import { strict as assert } from 'node:assert';
import type { Doc } from '../../src/engine';
import { conflictFields, conflictShape, kindsOf, lostValue, newestFirst, userFields, type ConflictRecordLike } from '../../src/extension/conflicts/conflict-values';

const NOW: Doc = { _id: 'n1', title: 'ours', body: 'kept', tags: ['a'], createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z', _v: 4 };

const record = (id: string, serverTime: number, fields: ConflictRecordLike['fields'], kind: ConflictRecordLike['kind'] = 'field'): ConflictRecordLike =>
  ({ _id: id, docId: 'n1', kind, fields, serverTime });

describe('conflicts: the value that lost', () => {
  it('is the current document with the losing values of the conflicting fields', () => {
    const fields = conflictFields(NOW, [record('c_3', 1, { title: { winner: { value: 'ours' }, loser: { value: 'theirs' } }, tags: { winner: { value: ['a'] }, loser: { unset: true } } })]);
    const lost = lostValue(NOW, 'n1', fields);
    assert.equal(lost!.title, 'theirs');
    assert.ok(!('tags' in lost!), 'a field the loser removed is removed');
    assert.equal(lost!.body, 'kept', 'the other fields are the current ones');
  });

  it('takes only the fields asked for; the others stay as they are', () => {
    const fields = conflictFields(NOW, [record('c_3', 1, { title: { winner: { value: 'ours' }, loser: { value: 'theirs' } }, body: { winner: { value: 'kept' }, loser: { value: 'lost' } } })]);
    assert.deepEqual([lostValue(NOW, 'n1', fields, new Set(['body']))!.title, lostValue(NOW, 'n1', fields, new Set(['body']))!.body], ['ours', 'lost']);
    assert.deepEqual(lostValue(NOW, 'n1', fields, new Set()), { ...NOW });
  });

  it('is null when the losing write deleted the document; from nothing when the document is gone', () => {
    assert.equal(lostValue(NOW, 'n1', conflictFields(NOW, [record('c_1', 1, { _doc: { winner: { value: 1 }, loser: { deleted: true } } })])), null);
    const gone = conflictFields(null, [record('c_1', 1, { title: { winner: { deleted: true }, loser: { value: 'back' } } }, 'update_vs_delete')]);
    assert.deepEqual(lostValue(null, 'n9', gone), { _id: 'n9', title: 'back' });
  });

  it('several records of one document: newest first, each field from the newest record that has it', () => {
    const older = record('c_5', 1_000, { title: { winner: { value: 'a' }, loser: { value: 'old loser' } }, tags: { winner: { value: ['a'] }, loser: { value: ['b'] } } });
    const newer = record('c_9', 2_000, { title: { winner: { value: 'ours' }, loser: { value: 'new loser' } } });
    const sameTime = record('c_12', 2_000, { body: { winner: { value: 'kept' }, loser: { value: 'x' } } });
    assert.deepEqual(newestFirst([older, newer, sameTime]).map((r) => r._id), ['c_12', 'c_9', 'c_5']);
    const fields = conflictFields(NOW, [older, newer, sameTime]);
    assert.deepEqual(fields.map((f) => [f.field, f.record._id]), [['body', 'c_12'], ['title', 'c_9'], ['tags', 'c_5']]);
    assert.equal(lostValue(NOW, 'n1', fields)!.title, 'new loser');
  });

  it('says which fields changed after the conflict (the document no longer holds what won)', () => {
    const fields = conflictFields(NOW, [record('c_3', 1, {
      title: { winner: { value: 'ours' }, loser: { value: 'theirs' } },
      body: { winner: { value: 'old body' }, loser: { value: 'x' } },
      gone: { winner: { unset: true }, loser: { value: 1 } },
    })]);
    assert.deepEqual(fields.map((f) => [f.field, f.changedSince]), [['title', false], ['body', true], ['gone', false]]);
    assert.equal(conflictFields(NOW, [record('c_1', 1, { title: { winner: { deleted: true }, loser: { value: 'x' } } }, 'delete_vs_update')])[0].changedSince, true, 'recreated after a delete won');
  });

  it('reads as a field conflict while the document exists, as deleted or purged when it is gone', () => {
    const del = record('c_1', 1, {}, 'delete_vs_update');
    const purged = record('c_2', 2, {}, 'update_of_purged');
    assert.deepEqual([conflictShape(NOW, [del]), conflictShape(null, [del]), conflictShape(null, [del, purged])], ['field', 'deleted', 'purged']);
    assert.deepEqual(kindsOf([del, purged, record('c_3', 0, {}, 'delete_vs_update')]), ['update_of_purged', 'delete_vs_update']);
  });

  it('a resolution writes only the user\'s fields', () => {
    assert.deepEqual(userFields(NOW), { title: 'ours', body: 'kept', tags: ['a'] });
  });
});
