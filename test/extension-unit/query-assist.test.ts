import { strict as assert } from 'node:assert';
import { FIELD_OPERATORS } from '../../src/engine/query/match';
import { UPDATE_OPERATORS } from '../../src/engine/query/update';
import { FILTER_OPERATOR_DOCS, operatorHoverAt, suggestionAt, UPDATE_OPERATOR_DOCS } from '../../src/extension/queries/query-assist';

/** suggestionAt for a text whose cursor is written `|`. */
function at(textWithCursor: string) {
  const offset = textWithCursor.indexOf('|');
  const text = textWithCursor.slice(0, offset) + textWithCursor.slice(offset + 1);
  const place = suggestionAt(text, offset);
  return place && { ...place.suggestion, isKey: place.isKey, replacing: place.replace && text.slice(place.replace.offset, place.replace.offset + place.replace.length) };
}

const Q = (inner: string) => `[\n  { "db": ".wisejson", "collection": "tasks", ${inner} }\n]`;

describe('query files: completion places, operator hovers, field samples', () => {
  it('offers db and collection names as values, with the string being typed replaced', () => {
    assert.deepEqual(at('[ { "db": "|" } ]'), { what: 'db', isKey: false, replacing: '""' });
    assert.deepEqual(at('{ "db": ".wi|" }'), { what: 'db', isKey: false, replacing: '".wi"' });
    assert.deepEqual(at('[ { "db": "data", "collection": | } ]'), { what: 'collection', db: 'data', isKey: false, replacing: undefined });
    // The query's own keys are the JSON schema's to offer.
    assert.equal(at('[ { "db": "data", "| } ]'), undefined);
  });

  it('offers fields (and $and/$or/$nor) at a filter key, operators in a field\'s condition, through $or items', () => {
    assert.deepEqual(at(Q('"find": { "|" }')), { what: 'field', db: '.wisejson', collection: 'tasks', logical: true, isKey: true, replacing: '""' });
    assert.deepEqual(at(Q('"count": { | }')), { what: 'field', db: '.wisejson', collection: 'tasks', logical: true, isKey: true, replacing: undefined });
    assert.deepEqual(at(Q('"find": { "age": { "$g|": 1 } }')), { what: 'filter-operator', isKey: true, replacing: '"$g"' });
    // A quote typed without its closing one: only the word typed is replaced, the rest stays.
    assert.deepEqual(at(Q('"find": { "do|}, "limit": 5')), { what: 'field', db: '.wisejson', collection: 'tasks', logical: true, isKey: true, replacing: '"do' });
    assert.deepEqual(at(Q('"find": { "ti|tle": 1 }'))?.replacing, '"title"');
    assert.deepEqual(at(Q('"find": { "$or": [{ "a": 1 }, { | }] }'))?.what, 'field');
    assert.deepEqual(at(Q('"find": { "$or": [{ "a": { | } }] }'))?.what, 'filter-operator');
    assert.deepEqual(at(Q('"find": { "a": { "$not": { | } } }'))?.what, 'filter-operator');
    assert.equal(at(Q('"find": { "a": { "$in": [ | ] } }')), undefined);
  });

  it('offers fields in sort and projection, update operators at the top of "with", fields inside an operator', () => {
    assert.deepEqual(at(Q('"find": {}, "sort": { | }')), { what: 'field', db: '.wisejson', collection: 'tasks', logical: false, isKey: true, replacing: undefined });
    assert.equal(at(Q('"find": {}, "projection": { | }'))?.what, 'field');
    assert.deepEqual(at(Q('"update": {}, "with": { | }')), { what: 'update-operator', db: '.wisejson', collection: 'tasks', isKey: true, replacing: undefined });
    assert.equal(at(Q('"update": {}, "with": { "$set": { | } }'))?.what, 'field');
    assert.equal(at('{ "db": "d", "collection": "c", "update": {}, "with": { "$inc": { | } } }')?.what, 'field');
  });

  it('hovers: each operator of the engine has its text; a filter\'s and a change\'s operators are told apart', () => {
    assert.deepEqual(Object.keys(FILTER_OPERATOR_DOCS).sort(), [...FIELD_OPERATORS].sort());
    assert.deepEqual(Object.keys(UPDATE_OPERATOR_DOCS).sort(), [...UPDATE_OPERATORS].sort());
    const text = Q('"update": { "n": { "$gte": 2 } }, "with": { "$inc": { "n": 1 } }');
    const gte = operatorHoverAt(text, text.indexOf('$gte') + 1)!;
    assert.match(gte.text, /^\*\*\$gte\*\* — Greater than or equal/);
    assert.equal(text.slice(gte.offset, gte.offset + gte.length), '"$gte"');
    assert.match(operatorHoverAt(text, text.indexOf('$inc') + 2)!.text, /^\*\*\$inc\*\* — Adds to numbers/);
    assert.equal(operatorHoverAt(text, text.indexOf('"n"') + 1), undefined);
    assert.equal(operatorHoverAt(Q('"find": { "$bogus": 1 }'), Q('"find": { "$bogus": 1 }').indexOf('$bogus')), undefined);
  });
});
