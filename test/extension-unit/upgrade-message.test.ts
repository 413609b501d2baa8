import assert from 'node:assert/strict';
import type { UpgradeReport } from '../../src/engine';
import { upgradeLeftSomethingOut, upgradeMessage } from '../../src/extension/databases/upgrade-message';

const clean: UpgradeReport = {
  from: 'wisejson6', collections: 2, documents: 6, indexes: 3, renamedIds: 0, expired: 0,
  backup: '/ws/.wisejson/wisejson6-backup', skipped: { files: [], documents: 0, walLines: 0 }, problems: [],
};

describe('extension: the WiseJSON 6 upgrade notification', () => {
  it('gives the counts and where the old files are', () => {
    assert.equal(
      upgradeMessage('.wisejson', '/ws/.wisejson', clean),
      'Upgraded the WiseJSON 6 database .wisejson: 2 collections, 6 documents, 3 indexes. The old files are in wisejson6-backup, which WiseJSON 6 can still open.',
    );
    assert.equal(upgradeLeftSomethingOut(clean), false);
  });

  it('says what changed or was left out, and is then a warning', () => {
    const r: UpgradeReport = {
      ...clean, collections: 1, documents: 1, indexes: 1, renamedIds: 1, expired: 2,
      skipped: { files: ['/ws/.wisejson/a/wal_a.log'], documents: 0, walLines: 1 },
      problems: [{ collection: 'a', id: 'x', reason: 'too long' }],
    };
    const text = upgradeMessage('db', '/ws/.wisejson', r);
    assert.match(text, /1 collection, 1 document, 1 index\./);
    assert.match(text, /1 numeric _id became a string\./);
    assert.match(text, /2 expired documents left out\./);
    assert.match(text, /Damaged, skipped: 1 file \(0 documents, 1 log line\)\./);
    assert.match(text, /Not carried over: 1 item \(listed in the WiseJSON log\)\./);
    assert.equal(upgradeLeftSomethingOut(r), true);
  });
});
