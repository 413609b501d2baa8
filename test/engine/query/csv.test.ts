import assert from 'node:assert/strict';
import { toCsv } from '../../../src/engine/export/csv';

describe('export/csv', () => {
  it('builds the header from the union of keys in first-seen order', () => {
    const csv = toCsv([{ a: 1, b: 'x' }, { c: true, a: 2 }]);
    assert.equal(csv, 'a,b,c\r\n1,x,\r\n2,,true');
  });

  it('formats values: null/undefined empty, objects and arrays as JSON', () => {
    assert.equal(toCsv([{ n: null, u: undefined, o: { k: 1 }, arr: [1, 'a'], f: 1.5, neg: -2 }]), 'n,u,o,arr,f,neg\r\n,,"{""k"":1}","[1,""a""]",1.5,-2');
  });

  it('quotes fields with comma, quote, CR or LF and doubles quotes', () => {
    assert.equal(toCsv([{ v: 'a,b' }, { v: 'say "hi"' }, { v: 'line1\nline2' }, { v: 'cr\r' }, { v: 'plain' }]), 'v\r\n"a,b"\r\n"say ""hi"""\r\n"line1\nline2"\r\n"cr\r"\r\nplain');
    assert.equal(toCsv([{ 'a,b': 1 }]), '"a,b"\r\n1');
  });

  it('keeps formula-like values exactly', () => {
    assert.equal(toCsv([{ v: '=1+1' }, { v: '+x' }, { v: '-y' }, { v: '@z' }]), 'v\r\n=1+1\r\n+x\r\n-y\r\n@z');
  });

  it('honours explicit fields, including dot paths', () => {
    assert.equal(toCsv([{ a: 1, b: { c: 'd' } }], ['b.c', 'a', 'missing']), 'b.c,a,missing\r\nd,1,');
    assert.equal(toCsv([{ 'b.c': 'literal', b: { c: 'nested' } }], ['b.c']), 'b.c\r\nliteral');
    assert.equal(toCsv([], ['a', 'b']), 'a,b');
    assert.equal(toCsv([]), '');
  });
});
