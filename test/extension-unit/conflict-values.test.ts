import { strict as assert } from 'node:assert';
import type { Doc } from '../../src/engine';
import { lostValue, userFields } from '../../src/extension/conflicts/conflict-values';

const NOW: Doc = { _id: 'n1', title: 'ours', body: 'kept', tags: ['a'], createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z', _v: 4 };

describe('conflicts: the value that lost', () => {
  it('is the current document with the losing values of the conflicting fields', () => {
    const lost = lostValue(NOW, { docId: 'n1', fields: { title: { winner: { value: 'ours' }, loser: { value: 'theirs' } }, tags: { winner: { value: ['a'] }, loser: { unset: true } } } });
    assert.equal(lost!.title, 'theirs');
    assert.ok(!('tags' in lost!), 'a field the loser removed is removed');
    assert.equal(lost!.body, 'kept', 'the other fields are the current ones');
  });

  it('is null when the losing write deleted the document; from nothing when the document is gone', () => {
    assert.equal(lostValue(NOW, { docId: 'n1', fields: { _doc: { winner: { value: 1 }, loser: { deleted: true } } } }), null);
    assert.deepEqual(lostValue(null, { docId: 'n9', fields: { title: { winner: { deleted: true }, loser: { value: 'back' } } } }), { _id: 'n9', title: 'back' });
  });

  it('a resolution writes only the user\'s fields', () => {
    assert.deepEqual(userFields(NOW), { title: 'ours', body: 'kept', tags: ['a'] });
  });
});
