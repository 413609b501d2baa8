import assert from 'node:assert/strict';
import {
  DOCUMENT_SCHEME, DocumentUriError, collectionUri, databaseUri, documentUri, escapeSegment, isNewDocumentUri,
  newDocumentUri, parseDocumentUri, parseResourceUri, unescapeSegment,
} from '../../src/extension/documents/document-uri';

describe('extension: document URIs', () => {
  const db = '/home/ada/project/.wisejson';

  it('builds a document URI: /<collection>/<id>.json?db=<folder>', () => {
    assert.deepEqual(documentUri(db, 'users', 'u1'), {
      scheme: DOCUMENT_SCHEME,
      path: '/users/u1.json',
      query: 'db=%2Fhome%2Fada%2Fproject%2F.wisejson',
    });
  });

  it('round-trips any id, including "/", "%", "%2F", spaces, "?", "#", ".json" and unicode', () => {
    const ids = ['a/b', '100%', '%2F', '%25', 'a%2Fb/c%', 'with space', 'q?x#y', 'x.json', '.json', '..', 'é✓ 日本', '/', '%'];
    for (const id of ids) {
      const uri = documentUri(db, 'users', id);
      assert.equal(uri.path.split('/').length, 3, `one path segment for ${JSON.stringify(id)}`);
      assert.deepEqual(parseDocumentUri(uri), { databaseId: db, collection: 'users', id });
    }
  });

  it('round-trips collection names with "%" and database folders with any characters', () => {
    const folder = 'C:\\Users\\Ada Lovelace\\db&x=1?#%';
    const uri = documentUri(folder, 'rate 100%', 'k');
    assert.deepEqual(parseDocumentUri(uri), { databaseId: folder, collection: 'rate 100%', id: 'k' });
  });

  it('escapes only "%" and "/"', () => {
    assert.equal(escapeSegment('a/b%c d'), 'a%2Fb%25c d');
    assert.equal(unescapeSegment('a%2Fb%25c d'), 'a/b%c d');
    assert.equal(unescapeSegment('a%2fb'), 'a/b');
    assert.equal(unescapeSegment('a%20b'), 'a%20b', 'other escapes are not ours: left alone');
  });

  it('new-document URIs are numbered and marked new=1', () => {
    const a = newDocumentUri(db, 'users');
    const b = newDocumentUri(db, 'users');
    assert.notEqual(a.path, b.path);
    assert.match(a.path, /^\/users\/New Document \d+\.json$/);
    assert.equal(a.query, 'db=%2Fhome%2Fada%2Fproject%2F.wisejson&new=1');
    assert.deepEqual(parseDocumentUri(newDocumentUri(db, 'users', 7)), { databaseId: db, collection: 'users', newDocument: true, name: 'New Document 7' });
    assert.equal(isNewDocumentUri(a), true);
    assert.equal(isNewDocumentUri(documentUri(db, 'users', 'New Document 7')), false, 'a document may be called that');
    assert.deepEqual(parseDocumentUri(documentUri(db, 'users', 'New Document 7')), { databaseId: db, collection: 'users', id: 'New Document 7' });
  });

  it('parses database and collection URIs as directories', () => {
    assert.deepEqual(parseResourceUri(databaseUri(db)), { kind: 'database', databaseId: db });
    assert.deepEqual(parseResourceUri(collectionUri(db, 'a%b')), { kind: 'collection', databaseId: db, collection: 'a%b' });
    assert.equal(parseResourceUri(documentUri(db, 'c', 'x')).kind, 'document');
  });

  it('refuses anything else with a DocumentUriError that says why', () => {
    const bad: [{ scheme: string; path: string; query: string }, RegExp][] = [
      [{ scheme: 'file', path: '/users/u1.json', query: 'db=x' }, /not a WiseJSON URI/],
      [{ scheme: DOCUMENT_SCHEME, path: '/users/u1.json', query: '' }, /which database/],
      [{ scheme: DOCUMENT_SCHEME, path: '/users/u1.json', query: 'new=1' }, /which database/],
      [{ scheme: DOCUMENT_SCHEME, path: '/users/u1.txt', query: 'db=x' }, /<id>\.json/],
      [{ scheme: DOCUMENT_SCHEME, path: '/users/.json', query: 'db=x' }, /<id>\.json/],
      [{ scheme: DOCUMENT_SCHEME, path: '/a/b/c.json', query: 'db=x' }, /not a WiseJSON path/],
      [{ scheme: DOCUMENT_SCHEME, path: '//c.json', query: 'db=x' }, /not a WiseJSON path/],
      [{ scheme: DOCUMENT_SCHEME, path: '/users', query: 'db=x' }, /names a collection, not a document/],
      [{ scheme: DOCUMENT_SCHEME, path: '/', query: 'db=x' }, /names a database, not a document/],
      [{ scheme: DOCUMENT_SCHEME, path: '/users/u1.json', query: 'db=%E0%A4%A' }, /malformed/],
    ];
    for (const [uri, message] of bad) {
      assert.throws(() => parseDocumentUri(uri), (err: unknown) => {
        assert.ok(err instanceof DocumentUriError, `${uri.path}?${uri.query}: a DocumentUriError`);
        assert.equal(err.code, 'INVALID_DOCUMENT_URI');
        assert.match(err.message, message);
        return true;
      });
    }
  });
});
