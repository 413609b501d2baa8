/** Wire validators of docsync/1: every request and response body, strictly. */
import assert from 'node:assert/strict';
import {
  checkOpContent, formatCheckpoint, parseChangesQuery, parseChangesResponse, parseCheckpoint, parseConflictRecord,
  parseHealthResponse, parseInfoResponse, parseProblem, parsePushRequest, parsePushResponse, ProtocolError, PushRequest,
  DEFAULT_LIMITS, isValidName,
} from '../../src/sync/protocol';

const H = (ms: number, node = 'rA'): string => `${String(ms).padStart(16, '0')}:0000:${node}`;

function validPush(): Record<string, unknown> {
  return {
    replicaId: 'rA',
    checkpointEpoch: null,
    ops: [
      { seq: 1, hlc: H(1), coll: 'notes', id: 'a', kind: 'put', base: 0, doc: { title: 'x' } },
      { seq: 2, hlc: H(2), coll: 'notes', id: 'a', kind: 'patch', base: 0, set: { title: 'y' }, unset: ['draft'] },
      { seq: 5, hlc: H(3), coll: 'notes', id: 'b', kind: 'del', base: 3 },
    ],
  };
}

function rejects(fn: () => unknown, code: string, pathPart?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (pathPart !== undefined) assert.ok(e.path.includes(pathPart), `path ${e.path} should include ${pathPart}`);
    return true;
  });
}

describe('sync: protocol validators', () => {
  describe('parsePushRequest', () => {
    it('accepts a valid body (object or JSON text) and ignores unknown fields', () => {
      const body = { ...validPush(), extra: 1 };
      const p = parsePushRequest(body);
      assert.equal(p.ops.length, 3);
      assert.equal(p.ops[1].kind, 'patch');
      assert.deepEqual(parsePushRequest(JSON.stringify(body)), p);
      assert.equal(parsePushRequest({ replicaId: 'r1', ops: [] }).checkpointEpoch, null);
      assert.equal(parsePushRequest({ replicaId: 'r1', ops: [] }).checkpoint, undefined);
      assert.equal(parsePushRequest({ replicaId: 'r1', checkpointEpoch: 'e_1', checkpoint: 'e_1:12', ops: [] }).checkpoint, 'e_1:12');
    });

    const cases: [string, (b: Record<string, unknown>) => unknown, string][] = [
      ['not an object', () => [], ''],
      ['missing replicaId', (b) => ({ ...b, replicaId: undefined }), 'replicaId'],
      ['replicaId with a colon', (b) => ({ ...b, replicaId: 'a:b' }), 'replicaId'],
      ['checkpointEpoch a number', (b) => ({ ...b, checkpointEpoch: 5 }), 'checkpointEpoch'],
      ['checkpoint not a checkpoint', (b) => ({ ...b, checkpointEpoch: 'e_1', checkpoint: 'e_1' }), 'checkpoint'],
      ['checkpoint a number', (b) => ({ ...b, checkpointEpoch: 'e_1', checkpoint: 5 }), 'checkpoint'],
      ['checkpoint of another epoch than checkpointEpoch', (b) => ({ ...b, checkpointEpoch: 'e_1', checkpoint: 'e_2:4' }), 'checkpoint'],
      ['ops not an array', (b) => ({ ...b, ops: {} }), 'ops'],
      ['op not an object', (b) => ({ ...b, ops: [1] }), 'ops[0]'],
      ['seq 0', (b) => patchOp(b, 0, { seq: 0 }), 'ops[0].seq'],
      ['seq a string', (b) => patchOp(b, 0, { seq: '1' }), 'ops[0].seq'],
      ['seq fractional', (b) => patchOp(b, 0, { seq: 1.5 }), 'ops[0].seq'],
      ['seqs not increasing', (b) => patchOp(b, 1, { seq: 1 }), 'ops[1].seq'],
      ['bad hlc', (b) => patchOp(b, 0, { hlc: '2024-01-01' }), 'ops[0].hlc'],
      ['hlc of another replica', (b) => patchOp(b, 0, { hlc: H(1, 'rB') }), 'ops[0].hlc'],
      ['coll not a string', (b) => patchOp(b, 0, { coll: 7 }), 'ops[0].coll'],
      ['id not a string', (b) => patchOp(b, 0, { id: null }), 'ops[0].id'],
      ['negative base', (b) => patchOp(b, 0, { base: -1 }), 'ops[0].base'],
      ['unknown kind', (b) => patchOp(b, 0, { kind: 'upsert' }), 'ops[0].kind'],
      ['put without doc', (b) => patchOp(b, 0, { doc: undefined }), 'ops[0].doc'],
      ['put with an array doc', (b) => patchOp(b, 0, { doc: [1] }), 'ops[0].doc'],
      ['put with set', (b) => patchOp(b, 0, { set: { a: 1 } }), 'ops[0]'],
      ['patch with doc', (b) => patchOp(b, 1, { doc: {} }), 'ops[1]'],
      ['patch set not an object', (b) => patchOp(b, 1, { set: 'x' }), 'ops[1].set'],
      ['patch unset not strings', (b) => patchOp(b, 1, { unset: [1] }), 'ops[1].unset[0]'],
      ['field both set and unset', (b) => patchOp(b, 1, { set: { title: 1 }, unset: ['title'] }), 'ops[1].unset'],
      ['del with doc', (b) => patchOp(b, 2, { doc: {} }), 'ops[2]'],
    ];
    for (const [name, mutate, p] of cases) {
      it(`rejects: ${name}`, () => rejects(() => parsePushRequest(mutate(validPush())), 'invalid_request', p));
    }

    it('rejects bad JSON text, and too many ops as payload_too_large', () => {
      rejects(() => parsePushRequest('{"replicaId":'), 'invalid_request');
      rejects(() => parsePushRequest(validPush(), { maxOps: 2 }), 'payload_too_large', 'ops');
    });
  });

  it('checkOpContent rejects single ops by content, not structure', () => {
    const base = { seq: 1, hlc: H(1), coll: 'notes', id: 'a', base: 0 };
    const lim = { maxDocBytes: 100 };
    assert.equal(checkOpContent({ ...base, kind: 'put', doc: { a: 1 } }, lim), null);
    assert.equal(checkOpContent({ ...base, kind: 'del', coll: '_conflicts' }, lim), null);
    assert.equal(checkOpContent({ ...base, kind: 'put', coll: '_secret', doc: {} }, lim)?.code, 'invalid_collection');
    assert.equal(checkOpContent({ ...base, kind: 'put', coll: 'a/b', doc: {} }, lim)?.code, 'invalid_collection');
    assert.equal(checkOpContent({ ...base, kind: 'put', id: '', doc: {} }, lim)?.code, 'invalid_id');
    assert.equal(checkOpContent({ ...base, kind: 'put', id: 'x'.repeat(513), doc: {} }, lim)?.code, 'invalid_id');
    assert.equal(checkOpContent({ ...base, kind: 'put', doc: { $set: 1 } }, lim)?.code, 'invalid_field');
    assert.equal(checkOpContent({ ...base, kind: 'put', doc: JSON.parse('{"a":{"__proto__":{"x":1}}}') }, lim), null, '"__proto__" is an ordinary field');
    assert.equal(checkOpContent({ ...base, kind: 'put', doc: { _id: 'other' } }, lim)?.code, 'invalid_field');
    assert.equal(checkOpContent({ ...base, kind: 'patch', unset: ['_id'] }, lim)?.code, 'invalid_field');
    assert.equal(checkOpContent({ ...base, kind: 'put', doc: { big: 'x'.repeat(200) } }, lim)?.code, 'doc_too_large');
    let deep: unknown = 1;
    for (let i = 0; i < 150; i++) deep = [deep];
    assert.equal(checkOpContent({ ...base, kind: 'put', doc: { deep } as never }, { maxDocBytes: 1e6 })?.code, 'invalid_document');
  });

  it('names and checkpoints', () => {
    assert.ok(isValidName('notes'));
    for (const bad of ['', 'a/b', 'a\\b', '..', 'a..b', ' a', 'a\u0001', 'x'.repeat(129), 5]) assert.equal(isValidName(bad), false, String(bad));
    assert.equal(parseCheckpoint('0'), null);
    assert.deepEqual(parseCheckpoint(formatCheckpoint('e_1', 42)), { epoch: 'e_1', v: 42 });
    for (const bad of ['', 'e_1', 'e_1:', ':5', 'e_1:-1', 'e_1:01', 'e 1:5', 'e_1:5x']) assert.equal(parseCheckpoint(bad), undefined, bad);
  });

  it('parseChangesQuery', () => {
    assert.deepEqual(parseChangesQuery(new URLSearchParams('')), { since: null });
    assert.deepEqual(parseChangesQuery(new URLSearchParams('since=e_1:5&limit=10&maxBytes=100&wait=2.5&colls=a,b,a')), {
      since: { epoch: 'e_1', v: 5 }, limit: 10, maxBytes: 100, wait: 2.5, colls: ['a', 'b'],
    });
    for (const bad of ['since=x', 'limit=0', 'limit=-1', 'limit=1.5', 'maxBytes=abc', 'wait=-1', 'wait=1e3', 'colls=', 'colls=a,,b', 'since=0&since=0']) {
      rejects(() => parseChangesQuery(new URLSearchParams(bad)), 'invalid_request');
    }
  });

  describe('parseChangesResponse', () => {
    const page = (): Record<string, unknown> => ({
      epoch: 'e_1', serverTime: 1, head: 9, horizon: 0,
      changes: [
        { v: 4, coll: 'n', id: 'a', doc: { _id: 'a', t: 1 }, hlc: H(1), origin: 'rA', originSeq: 1 },
        { v: 7, coll: 'n', id: 'b', deleted: true, hlc: H(2), origin: 'rA', originSeq: 2 },
      ],
      checkpoint: 'e_1:9', hasMore: false,
    });
    it('accepts a valid page', () => {
      const p = parseChangesResponse(page(), { since: { epoch: 'e_1', v: 3 } });
      assert.equal(p.changes.length, 2);
      assert.equal(p.changes[1].deleted, true);
      assert.equal(p.epochStart, undefined);
      assert.equal(parseChangesResponse({ ...page(), epochStart: 6 }).epochStart, 6);
    });
    const bad: [string, (p: Record<string, unknown>) => void][] = [
      ['missing checkpoint', (p) => { delete p.checkpoint; }],
      ['changes not an array', (p) => { p.changes = {}; }],
      ['checkpoint of another epoch', (p) => { p.checkpoint = 'e_2:9'; }],
      ['checkpoint beyond head', (p) => { p.checkpoint = 'e_1:10'; }],
      ['checkpoint before the last change', (p) => { p.checkpoint = 'e_1:5'; }],
      ['versions not increasing', (p) => { (p.changes as { v: number }[])[1].v = 4; }],
      ['duplicate document', (p) => { (p.changes as { id: string }[])[1].id = 'a'; }],
      ['both doc and deleted', (p) => { (p.changes as Record<string, unknown>[])[0].deleted = true; }],
      ['neither doc nor deleted', (p) => { delete (p.changes as Record<string, unknown>[])[0].doc; }],
      ['doc _id differs', (p) => { (p.changes as { doc: { _id: string } }[])[0].doc._id = 'zz'; }],
      ['bad hlc', (p) => { (p.changes as Record<string, unknown>[])[0].hlc = 'x'; }],
      ['horizon beyond head', (p) => { p.horizon = 10; }],
      ['epochStart beyond head', (p) => { p.epochStart = 10; }],
      ['epochStart not an integer', (p) => { p.epochStart = '3'; }],
      ['hasMore not boolean', (p) => { p.hasMore = 'no'; }],
      ['HTML instead of JSON', () => undefined],
    ];
    for (const [name, mutate] of bad) {
      it(`rejects: ${name}`, () => {
        const p = page();
        mutate(p);
        const input = name.startsWith('HTML') ? '<html>502 Bad Gateway</html>' : p;
        rejects(() => parseChangesResponse(input), 'bad_response');
      });
    }
    it('rejects a page going backwards from the requested cursor (same epoch only)', () => {
      rejects(() => parseChangesResponse(page(), { since: { epoch: 'e_1', v: 5 } }), 'bad_response', 'changes[0].v');
      const p = page();
      p.checkpoint = 'e_1:7';
      rejects(() => parseChangesResponse({ ...p, changes: [] }, { since: { epoch: 'e_1', v: 8 } }), 'bad_response', 'checkpoint');
      // another epoch: a reset, not a malformed page
      assert.equal(parseChangesResponse(page(), { since: { epoch: 'e_0', v: 50 } }).epoch, 'e_1');
    });
  });

  it('parsePushResponse checks results against the request', () => {
    const req = parsePushRequest(validPush()) as PushRequest;
    const ok = { epoch: 'e_1', serverTime: 1, ackSeq: 5, results: [{ seq: 1, status: 'applied', v: 3 }, { seq: 2, status: 'merged', v: 4, conflictId: 'c_5' }, { seq: 5, status: 'rejected', code: 'doc_too_large' }] };
    assert.equal(parsePushResponse(ok, req).results.length, 3);
    rejects(() => parsePushResponse({ ...ok, results: [{ seq: 3, status: 'applied' }] }, req), 'bad_response', 'results[0].seq');
    rejects(() => parsePushResponse({ ...ok, ackSeq: 4 }, req), 'bad_response', 'ackSeq');
    rejects(() => parsePushResponse({ ...ok, results: [{ seq: 1, status: 'rejected' }] }), 'bad_response', 'results[0].code');
    rejects(() => parsePushResponse({ ...ok, results: [{ seq: 1, status: 'won' }] }), 'bad_response', 'results[0].status');
    rejects(() => parsePushResponse({ ...ok, results: [{ seq: 2, status: 'applied' }, { seq: 1, status: 'applied' }] }, req), 'bad_response', 'results[1].seq');
    rejects(() => parsePushResponse({ ...ok, epoch: undefined }), 'bad_response', 'epoch');
  });

  it('parseInfoResponse, parseHealthResponse, parseProblem, parseConflictRecord', () => {
    const info = parseInfoResponse({ protocol: { min: 1, max: 1 }, serverTime: 5, limits: { ...DEFAULT_LIMITS } });
    assert.equal(info.limits.maxOpsPerPush, 500);
    rejects(() => parseInfoResponse({ protocol: { min: 1, max: 1 }, serverTime: 5, limits: { ...DEFAULT_LIMITS, maxPushBytes: 0 } }), 'bad_response', 'limits.maxPushBytes');
    assert.equal(parseHealthResponse({ status: 'ok' }).status, 'ok');
    rejects(() => parseHealthResponse({ status: 'down' }), 'bad_response');
    const p = parseProblem({ type: 'urn:x', title: 't', status: 410, detail: 'd', code: 'checkpoint_expired', retryable: false, horizon: 3 });
    assert.equal(p.horizon, 3);
    rejects(() => parseProblem({ type: 'urn:x', title: 't', status: 410, detail: 'd', code: 'x' }), 'bad_response', 'retryable');
    const c = parseConflictRecord({ _id: 'c_5', coll: 'n', docId: 'a', kind: 'field', serverTime: 1, fields: { t: { winner: { value: 1, hlc: H(1), origin: 'rA', seq: 1 }, loser: { unset: true } } } });
    assert.equal(c.fields.t.loser.unset, true);
    rejects(() => parseConflictRecord({ _id: 'c_5', coll: 'n', docId: 'a', kind: 'other', serverTime: 1, fields: {} }), 'bad_response', 'kind');
  });
});

function patchOp(b: Record<string, unknown>, i: number, patch: Record<string, unknown>): Record<string, unknown> {
  const ops = (b.ops as Record<string, unknown>[]).map((o) => ({ ...o }));
  ops[i] = { ...ops[i], ...patch };
  for (const [k, v] of Object.entries(ops[i])) if (v === undefined) delete ops[i][k];
  return { ...b, ops };
}
