/**
 * Wire types of protocol `docsync/1` (docs/sync-protocol.md) and strict validators for every
 * request and response body. Shared by the sync server (requests) and the sync client
 * (responses). No vscode import.
 *
 * Every `parse*` function takes either the parsed JSON value or the raw JSON text, and either
 * returns a fully checked, typed value or throws a {@link ProtocolError}:
 *  - request parsers throw `code: 'invalid_request'` (the server answers 400);
 *  - response parsers throw `code: 'bad_response'` (the client keeps its cursor and backs off).
 * Error messages name the offending path (e.g. `ops[3].hlc`) and never echo values, so no
 * document content or secret ends up in a log.
 *
 * Tolerant reader: unknown *extra* properties are ignored everywhere; known properties must
 * have the documented type.
 */
import { isWellFormed, setOwn } from '../engine/document';
import { HlcError, isHlc, parseHlc } from './hlc';

// -----------------------------------------------------------------------------------------
// Constants

/** Protocol major versions this code speaks. */
export const PROTOCOL_MIN = 1;
export const PROTOCOL_MAX = 1;
/** Request header carrying the protocol version (value: an integer, e.g. `1`). */
export const PROTOCOL_HEADER = 'Sync-Protocol';
/** Name of the system collection that holds conflict records. */
export const CONFLICTS_COLLECTION = '_conflicts';
/** Top-level fields managed by the engine: merged last-writer-wins, never a conflict. */
export const SYSTEM_FIELDS: readonly string[] = Object.freeze(['_id', 'createdAt', 'updatedAt', '_v']);
/** Maximum length of a document id (same as the engine's). */
export const MAX_ID_LENGTH = 512;
/** Maximum nesting depth of a document (objects and arrays). */
export const MAX_DOC_DEPTH = 100;

/** Server limits advertised by `GET /v1/info`. */
export interface Limits {
  maxOpsPerPush: number;
  maxPushBytes: number;
  maxDocBytes: number;
  maxPullLimit: number;
  maxPullBytes: number;
  maxWaitSec: number;
  maxClockDriftMs: number;
  tombstoneRetentionDays: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxOpsPerPush: 500,
  maxPushBytes: 4 * 1024 * 1024,
  maxDocBytes: 1024 * 1024,
  maxPullLimit: 1000,
  maxPullBytes: 4 * 1024 * 1024,
  maxWaitSec: 30,
  maxClockDriftMs: 60_000,
  tombstoneRetentionDays: 30,
});

// -----------------------------------------------------------------------------------------
// Types

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object (a document body, a `set`). */
export type JsonObject = { [key: string]: Json };

export type OpKind = 'put' | 'patch' | 'del';

interface OpBase {
  /** Per-replica sequence number, 1, 2, 3, … assigned when the local write happened. */
  seq: number;
  /** HLC stamp of the write; its node part is the pushing replica's id. */
  hlc: string;
  /** Collection name. */
  coll: string;
  /** Document `_id`. */
  id: string;
  /** Server version the writer's view of the document was based on (0 = never synced). */
  base: number;
}
/** Write the whole document. */
export interface PutOp extends OpBase {
  kind: 'put';
  doc: JsonObject;
}
/** Set and/or remove top-level fields. */
export interface PatchOp extends OpBase {
  kind: 'patch';
  set?: JsonObject;
  unset?: string[];
}
/** Delete the document. */
export interface DelOp extends OpBase {
  kind: 'del';
}
export type Op = PutOp | PatchOp | DelOp;

/** `POST /v1/datasets/{ds}/push` body. */
export interface PushRequest {
  replicaId: string;
  /** Epoch of the client's pull checkpoint; null before the first pull. */
  checkpointEpoch: string | null;
  /**
   * Optional (added within protocol 1; older clients omit it): the client's whole pull checkpoint
   * `"<epoch>:<v>"` (its epoch is `checkpointEpoch`). A checkpoint of the dataset's epoch that is
   * ahead of the head (with its `checkpointProof`) means the server was restored from an older
   * copy: it starts a new epoch and answers 409, exactly as a pull with that checkpoint would.
   */
  checkpoint?: string;
  /**
   * Optional (added within protocol 1): the `checkpointProof` the server sent with `checkpoint`.
   * Only a checkpoint with a valid proof can make the server start a new epoch; without one, a
   * checkpoint ahead of the head is answered `400 invalid_checkpoint` and changes nothing.
   */
  checkpointProof?: string;
  ops: Op[];
  schemaVersion?: string;
}

export type OpStatus = 'applied' | 'merged' | 'conflict' | 'duplicate' | 'rejected';

export interface OpResult {
  seq: number;
  status: OpStatus;
  /** Version of the document after this op (or of the conflict record, if nothing of the op survived). */
  v?: number;
  /** `_id` of the `_conflicts` record this op produced. */
  conflictId?: string;
  /** Why the op was rejected (status `rejected`). */
  code?: string;
  detail?: string;
  /** e.g. `clock_skew` (the op's stamp was clamped). */
  warnings?: string[];
  /**
   * Optional (added within protocol 1, capability `own_changes`): the document's state at `v` is
   * exactly what this op wrote (it saw the previous version and wrote every field there is), so
   * the replica holds it already: it records `v` as its document's version, and a pull with
   * `replica=` this replica sends the change without its body (an {@link OwnChange}).
   */
  own?: true;
}

/** Push response (200). */
export interface PushResponse {
  epoch: string;
  serverTime: number;
  /** The server's durable `lastSeq` for this replica after the push. */
  ackSeq: number;
  results: OpResult[];
  /** e.g. `seq_gap`. */
  warnings?: string[];
}

/** One entry of a changes page: the latest state of one document. */
export interface Change {
  v: number;
  coll: string;
  id: string;
  doc?: JsonObject;
  deleted?: true;
  hlc: string;
  origin: string;
  originSeq: number;
}

/**
 * Optional (added within protocol 1, capability `own_changes`): in a page pulled with
 * `replica=<replicaId>`, a change whose state is exactly what that replica wrote (its push result
 * said `own`) comes as `{v, coll, id, own: true}`, without the body the replica already has.
 */
export interface OwnChange {
  v: number;
  coll: string;
  id: string;
  own: true;
}

/** `GET /v1/datasets/{ds}/changes` response (200). */
export interface ChangesResponse {
  epoch: string;
  serverTime: number;
  head: number;
  horizon: number;
  /** The page's changes that carry their body (or deletion), in version order. */
  changes: Change[];
  /** The page's own changes (see {@link OwnChange}), in version order; absent when none. */
  own?: OwnChange[];
  /** `"<epoch>:<v>"`: the cursor to persist with this page. */
  checkpoint: string;
  hasMore: boolean;
  /**
   * Optional (added within protocol 1): the head at which this epoch began. After a restore,
   * versions up to it are the history the old epoch shared with the restored copy; later ones
   * were written after the restore (version numbers of the two epochs overlap).
   */
  epochStart?: number;
  /**
   * Optional (added within protocol 1): the server's proof that it issued `checkpoint`, to send
   * back with it (`proof=` on a pull, `checkpointProof` on a push). Opaque.
   */
  checkpointProof?: string;
}

/**
 * `GET /v1/datasets/{ds}/collections` response (200); added within protocol 1 (an older server
 * answers `404 not_found`). Every collection the server holds rows of (tombstones included),
 * with `head`: the highest version of a change to it.
 */
export interface CollectionsResponse {
  epoch: string;
  serverTime: number;
  /** The dataset's head (optional: a tolerant reader does not need it). */
  head?: number;
  collections: { name: string; head: number }[];
}

/** `GET /v1/info` response (200). */
export interface InfoResponse {
  protocol: { min: number; max: number };
  serverTime: number;
  limits: Limits;
  /**
   * Optional (added within protocol 1): what this server does beyond the base protocol.
   * `checkpoint_proof`: pages carry `checkpointProof`; a checkpoint ahead of the head starts a new
   * epoch only with a valid proof, and is otherwise `400 invalid_checkpoint`.
   */
  capabilities?: string[];
}

/** The capabilities this version's server announces in `/v1/info`. */
export const SERVER_CAPABILITIES: readonly string[] = ['checkpoint_proof', 'own_changes'];

/** `GET /v1/health` response (200). */
export interface HealthResponse {
  status: 'ok';
  serverTime?: number;
}

/** Machine-readable error codes of problem responses. */
export type ProblemCode =
  | 'invalid_request' | 'unauthorized' | 'forbidden' | 'replica_not_owned' | 'dataset_not_found'
  | 'epoch_mismatch' | 'invalid_checkpoint' | 'checkpoint_expired' | 'payload_too_large' | 'protocol_unsupported'
  | 'schema_unsupported' | 'rate_limited' | 'internal' | 'unavailable' | 'not_found'
  | 'method_not_allowed' | 'unsupported_media_type';

/** RFC 9457 problem details (`application/problem+json`). Extra members are allowed. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  retryable: boolean;
  [extra: string]: unknown;
}

/** One side of a conflicting field. */
export interface ConflictSide {
  /** The value (absent when `unset` or `deleted`). */
  value?: Json;
  /** The write removed the field. */
  unset?: true;
  /** The write deleted the document. */
  deleted?: true;
  hlc?: string;
  origin?: string;
  seq?: number;
}

export type ConflictKind = 'field' | 'update_vs_delete' | 'delete_vs_update' | 'update_of_purged';

/** Body of a `_conflicts` document. */
export interface ConflictRecord {
  _id: string;
  coll: string;
  docId: string;
  kind: ConflictKind;
  fields: Record<string, { winner: ConflictSide; loser: ConflictSide }>;
  serverTime: number;
  [extra: string]: unknown;
}

/** A parsed checkpoint. */
export interface Checkpoint {
  epoch: string;
  v: number;
}

/** Parsed query of `GET …/changes`. */
export interface ChangesQuery {
  /** null = `since=0` (from the beginning). */
  since: Checkpoint | null;
  limit?: number;
  maxBytes?: number;
  /** Seconds. */
  wait?: number;
  colls?: string[];
  /** The `checkpointProof` that came with `since`. */
  proof?: string;
  /** The pulling replica (added): its own changes come without their body (see {@link OwnChange}). */
  replica?: string;
}

// -----------------------------------------------------------------------------------------
// Errors

export type ProtocolErrorCode = 'invalid_request' | 'bad_response' | 'payload_too_large';

/** A malformed body or parameter. `path` locates it, e.g. `ops[2].seq`. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  readonly path: string;
  constructor(code: ProtocolErrorCode, path: string, message: string) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'ProtocolError';
    this.code = code;
    this.path = path;
  }
}

// -----------------------------------------------------------------------------------------
// Small checks (exported: the server and the client use them too)

const CONTROL = /[\u0000-\u001f\u007f]/;
const REPLICA_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const EPOCH_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Dataset and collection names: the engine's collection-name rules. */
export function isValidName(name: unknown): name is string {
  return (
    typeof name === 'string' && name.length >= 1 && name.length <= 128 && !name.includes('/') && !name.includes('\\') &&
    name !== '.' && !name.includes('..') && !CONTROL.test(name) && name.trim() === name
  );
}

/** Replica ids: 1-128 characters of A-Z a-z 0-9 _ -, starting with a letter or digit. */
export function isValidReplicaId(id: unknown): id is string {
  return typeof id === 'string' && REPLICA_RE.test(id);
}

/** Epoch ids: 1-64 characters of A-Z a-z 0-9 _ -. */
export function isValidEpoch(epoch: unknown): epoch is string {
  return typeof epoch === 'string' && EPOCH_RE.test(epoch);
}

/**
 * Document ids: non-empty strings of at most 512 characters. New writes must also be well-formed
 * ({@link checkOpContent}); pages may still carry rows stored before that rule, so reading
 * accepts them.
 */
export function isValidDocId(id: unknown): id is string {
  return typeof id === 'string' && id.length >= 1 && id.length <= MAX_ID_LENGTH;
}

/** A checkpoint proof: 1-128 characters of A-Z a-z 0-9 _ - (opaque to clients). */
export function isValidProof(p: unknown): p is string {
  return typeof p === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(p);
}

export function formatCheckpoint(epoch: string, v: number): string {
  return `${epoch}:${v}`;
}

/** `"0"` → null (from the beginning); `"<epoch>:<v>"` → {epoch, v}; anything else → undefined. */
export function parseCheckpoint(s: string): Checkpoint | null | undefined {
  if (s === '0') return null;
  const i = s.lastIndexOf(':');
  if (i <= 0) return undefined;
  const epoch = s.slice(0, i);
  const vText = s.slice(i + 1);
  if (!isValidEpoch(epoch) || !/^(0|[1-9]\d{0,15})$/.test(vText)) return undefined;
  const v = Number(vText);
  if (!Number.isSafeInteger(v)) return undefined;
  return { epoch, v };
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Deep equality of JSON values (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Why one op cannot be applied (it is answered `rejected`, and consumes its seq). */
export interface OpRejection {
  code: 'invalid_collection' | 'invalid_id' | 'invalid_field' | 'invalid_document' | 'doc_too_large';
  detail: string;
}

/** A top-level field name a document may use. */
export function isValidFieldName(name: string): boolean {
  return name.length > 0 && !name.startsWith('$');
}

/**
 * Content checks of one op that do not depend on server state: collection name (`_`-prefixed
 * names are reserved, except `_conflicts`), id, field names (no top-level `$` names, `_id` only
 * equal to `id`; `__proto__` and other Object.prototype names are ordinary fields), nesting depth, and the serialized size of `doc`/`set`
 * against `maxDocBytes`. Returns null when the op is fine. The client uses it to refuse an op
 * locally before it can block the queue; the server runs it on every op.
 */
export function checkOpContent(op: Op, limits: { maxDocBytes: number }): OpRejection | null {
  if (!isValidName(op.coll) || !isWellFormed(op.coll)) return { code: 'invalid_collection', detail: 'The collection name is not valid (1-128 characters, no path separators, "..", control characters, surrounding spaces or unpaired UTF-16 surrogates).' };
  if (op.coll.startsWith('_') && op.coll !== CONFLICTS_COLLECTION) {
    return { code: 'invalid_collection', detail: `Collection names starting with "_" are reserved for system collections (only "${CONFLICTS_COLLECTION}" syncs).` };
  }
  if (!isValidDocId(op.id) || !isWellFormed(op.id)) return { code: 'invalid_id', detail: `The document id must be a non-empty string of at most ${MAX_ID_LENGTH} characters, without unpaired UTF-16 surrogates.` };
  let body: Record<string, unknown> | null = null;
  if (op.kind === 'put') body = op.doc;
  else if (op.kind === 'patch') {
    body = op.set ?? {};
    for (const f of op.unset ?? []) {
      if (!isValidFieldName(f)) return { code: 'invalid_field', detail: 'unset names a field that is not allowed (empty, or starting with "$").' };
      if (f === '_id') return { code: 'invalid_field', detail: 'The _id field cannot be removed.' };
    }
  }
  if (body === null) return null;
  for (const f of Object.keys(body)) {
    if (!isValidFieldName(f)) return { code: 'invalid_field', detail: 'A top-level field name is not allowed (empty, or starting with "$").' };
  }
  if (body._id !== undefined && body._id !== op.id) return { code: 'invalid_field', detail: 'The document\'s _id differs from the op\'s id.' };
  const depthProblem = checkDepth(body, 0);
  if (depthProblem) return depthProblem;
  const bytes = Buffer.byteLength(JSON.stringify(body), 'utf8');
  if (bytes > limits.maxDocBytes) return { code: 'doc_too_large', detail: `The document is ${bytes} bytes; the limit is ${limits.maxDocBytes}.` };
  return null;
}

function checkDepth(v: unknown, depth: number): OpRejection | null {
  if (v === null || typeof v !== 'object') return null;
  if (depth >= MAX_DOC_DEPTH) return { code: 'invalid_document', detail: `The document is nested more than ${MAX_DOC_DEPTH} levels deep.` };
  if (Array.isArray(v)) {
    for (const x of v) {
      const p = checkDepth(x, depth + 1);
      if (p) return p;
    }
    return null;
  }
  for (const k of Object.keys(v)) {
    const p = checkDepth((v as Record<string, unknown>)[k], depth + 1);
    if (p) return p;
  }
  return null;
}

// -----------------------------------------------------------------------------------------
// Validation helpers

class Checker {
  constructor(readonly code: ProtocolErrorCode) {}

  fail(path: string, message: string): never {
    throw new ProtocolError(this.code, path, message);
  }

  object(v: unknown, path: string): Record<string, unknown> {
    if (!isPlainObject(v)) this.fail(path, 'must be a JSON object');
    return v;
  }

  string(v: unknown, path: string, opts: { min?: number; max?: number } = {}): string {
    if (typeof v !== 'string') this.fail(path, 'must be a string');
    if (opts.min !== undefined && v.length < opts.min) this.fail(path, `must have at least ${opts.min} character(s)`);
    if (opts.max !== undefined && v.length > opts.max) this.fail(path, `must have at most ${opts.max} characters`);
    return v;
  }

  int(v: unknown, path: string, min: number): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(path, 'must be an integer');
    if (v < min) this.fail(path, `must be >= ${min}`);
    return v;
  }

  number(v: unknown, path: string, min: number): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, 'must be a finite number');
    if (v < min) this.fail(path, `must be >= ${min}`);
    return v;
  }

  bool(v: unknown, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(path, 'must be true or false');
    return v;
  }

  array(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'must be an array');
    return v;
  }

  hlc(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail(path, 'must be an HLC string');
    try {
      parseHlc(v);
    } catch (err) {
      if (err instanceof HlcError) this.fail(path, 'must be an HLC string "<16 digits>:<4 lowercase hex>:<node id>"');
      throw err;
    }
    return v;
  }

  stringArray(v: unknown, path: string): string[] {
    const a = this.array(v, path);
    a.forEach((x, i) => this.string(x, `${path}[${i}]`));
    return a as string[];
  }
}

function decode(input: unknown, c: Checker): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input) as unknown;
  } catch {
    return c.fail('', 'body is not valid JSON');
  }
}

// -----------------------------------------------------------------------------------------
// Requests (server side)

/**
 * Checks a push body. Structural problems (wrong types, unknown `kind`, a stamp not issued by
 * `replicaId`, seqs not strictly increasing, `doc` on a `patch`, …) throw `invalid_request`.
 * Content problems of a single op (bad collection name, oversized doc, …) are *not* checked here:
 * see {@link checkOpContent}; they reject only that op.
 * With `maxOps`, more ops than that throw `payload_too_large`.
 */
export function parsePushRequest(input: unknown, options: { maxOps?: number } = {}): PushRequest {
  const c: Checker = new Checker('invalid_request');
  const body = c.object(decode(input, c), '');
  const replicaId = body.replicaId;
  if (!isValidReplicaId(replicaId)) c.fail('replicaId', 'must be 1-128 characters of A-Z a-z 0-9 _ -, starting with a letter or digit');
  let checkpointEpoch: string | null = null;
  if (body.checkpointEpoch !== undefined && body.checkpointEpoch !== null) {
    if (!isValidEpoch(body.checkpointEpoch)) c.fail('checkpointEpoch', 'must be null or an epoch id (1-64 characters of A-Z a-z 0-9 _ -)');
    checkpointEpoch = body.checkpointEpoch;
  }
  const rawOps = c.array(body.ops, 'ops');
  if (options.maxOps !== undefined && rawOps.length > options.maxOps) {
    throw new ProtocolError('payload_too_large', 'ops', `has ${rawOps.length} ops; at most ${options.maxOps} are accepted per push`);
  }
  const ops: Op[] = [];
  let prevSeq = 0;
  rawOps.forEach((raw, i) => {
    const op = parseOp(raw, `ops[${i}]`, replicaId, c);
    if (op.seq <= prevSeq) c.fail(`ops[${i}].seq`, 'seqs must be strictly increasing within a push');
    prevSeq = op.seq;
    ops.push(op);
  });
  const out: PushRequest = { replicaId, checkpointEpoch, ops };
  if (body.checkpoint !== undefined && body.checkpoint !== null) {
    const cp = typeof body.checkpoint === 'string' ? parseCheckpoint(body.checkpoint) : undefined;
    if (!cp) c.fail('checkpoint', 'must be null or a checkpoint "<epoch>:<version>"');
    if (cp.epoch !== checkpointEpoch) c.fail('checkpoint', 'must carry checkpointEpoch as its epoch');
    out.checkpoint = body.checkpoint as string;
  }
  if (body.checkpointProof !== undefined && body.checkpointProof !== null) {
    if (!isValidProof(body.checkpointProof)) c.fail('checkpointProof', 'must be null or the checkpointProof the server sent with the checkpoint');
    if (out.checkpoint === undefined) c.fail('checkpointProof', 'is only allowed with checkpoint');
    out.checkpointProof = body.checkpointProof;
  }
  if (body.schemaVersion !== undefined) out.schemaVersion = c.string(body.schemaVersion, 'schemaVersion', { max: 128 });
  return out;
}

function parseOp(raw: unknown, path: string, replicaId: string, c: Checker): Op {
  const o = c.object(raw, path);
  const seq = c.int(o.seq, `${path}.seq`, 1);
  const hlc = c.hlc(o.hlc, `${path}.hlc`);
  if (parseHlc(hlc).node !== replicaId) c.fail(`${path}.hlc`, 'its node part must be the pushing replicaId');
  const coll = c.string(o.coll, `${path}.coll`);
  const id = c.string(o.id, `${path}.id`);
  const base = c.int(o.base, `${path}.base`, 0);
  const kind = o.kind;
  const common = { seq, hlc, coll, id, base };
  switch (kind) {
    case 'put': {
      if (o.set !== undefined || o.unset !== undefined) c.fail(path, 'a put carries doc, not set/unset');
      const doc = c.object(o.doc, `${path}.doc`) as JsonObject;
      return { ...common, kind, doc };
    }
    case 'patch': {
      if (o.doc !== undefined) c.fail(path, 'a patch carries set/unset, not doc');
      const op: PatchOp = { ...common, kind };
      if (o.set !== undefined) op.set = c.object(o.set, `${path}.set`) as JsonObject;
      if (o.unset !== undefined) op.unset = c.stringArray(o.unset, `${path}.unset`);
      if (op.set && op.unset) {
        for (const f of op.unset) if (Object.prototype.hasOwnProperty.call(op.set, f)) c.fail(`${path}.unset`, 'a field cannot be both set and unset');
      }
      return op;
    }
    case 'del':
      if (o.doc !== undefined || o.set !== undefined || o.unset !== undefined) c.fail(path, 'a del carries no doc, set or unset');
      return { ...common, kind };
    default:
      return c.fail(`${path}.kind`, 'must be "put", "patch" or "del"');
  }
}

type QueryInput = URLSearchParams | Record<string, string | string[] | undefined>;

function queryGet(q: QueryInput, name: string, c: Checker): string | undefined {
  if (q instanceof URLSearchParams) {
    const all = q.getAll(name);
    if (all.length > 1) c.fail(name, 'must be given once');
    return all[0];
  }
  const v = q[name];
  if (Array.isArray(v)) {
    if (v.length > 1) c.fail(name, 'must be given once');
    return v[0];
  }
  return v;
}

/**
 * Checks the query of `GET …/changes`: `since` (`0` or `<epoch>:<v>`; default 0), `limit` and
 * `maxBytes` (positive integers), `wait` (seconds, >= 0, decimals allowed), `colls` (comma-separated
 * collection names). Caps are the server's business: values above its limits are lowered there.
 */
export function parseChangesQuery(q: QueryInput): ChangesQuery {
  const c: Checker = new Checker('invalid_request');
  const out: ChangesQuery = { since: null };
  const since = queryGet(q, 'since', c);
  if (since !== undefined) {
    const cp = parseCheckpoint(since);
    if (cp === undefined) c.fail('since', 'must be 0 or a checkpoint "<epoch>:<version>"');
    out.since = cp;
  }
  const posInt = (name: string): number | undefined => {
    const s = queryGet(q, name, c);
    if (s === undefined) return undefined;
    if (!/^[1-9]\d{0,15}$/.test(s)) c.fail(name, 'must be a positive integer');
    const n = Number(s);
    if (!Number.isSafeInteger(n)) c.fail(name, 'is too large');
    return n;
  };
  const limit = posInt('limit');
  if (limit !== undefined) out.limit = limit;
  const maxBytes = posInt('maxBytes');
  if (maxBytes !== undefined) out.maxBytes = maxBytes;
  const wait = queryGet(q, 'wait', c);
  if (wait !== undefined) {
    if (!/^\d{1,6}(\.\d{1,3})?$/.test(wait)) c.fail('wait', 'must be a number of seconds >= 0');
    out.wait = Number(wait);
  }
  const proof = queryGet(q, 'proof', c);
  if (proof !== undefined) {
    if (!isValidProof(proof)) c.fail('proof', 'must be the checkpointProof the server sent with the checkpoint');
    out.proof = proof;
  }
  const replica = queryGet(q, 'replica', c);
  if (replica !== undefined) {
    if (!isValidReplicaId(replica)) c.fail('replica', 'must be the replicaId the client pushes with');
    out.replica = replica;
  }
  const colls = queryGet(q, 'colls', c);
  if (colls !== undefined) {
    const names = colls.split(',');
    names.forEach((n, i) => {
      if (!isValidName(n)) c.fail(`colls[${i}]`, 'is not a valid collection name');
    });
    out.colls = [...new Set(names)];
  }
  return out;
}

// -----------------------------------------------------------------------------------------
// Responses (client side)

/**
 * Checks a push response. With the `request` it answered, also checks that every result's `seq`
 * belongs to the request (each at most once, in request order) and that `ackSeq` covers every
 * op that got a result.
 */
export function parsePushResponse(input: unknown, request?: PushRequest): PushResponse {
  const c: Checker = new Checker('bad_response');
  const body = c.object(decode(input, c), '');
  const epoch = body.epoch;
  if (!isValidEpoch(epoch)) c.fail('epoch', 'must be an epoch id');
  const serverTime = c.number(body.serverTime, 'serverTime', 0);
  const ackSeq = c.int(body.ackSeq, 'ackSeq', 0);
  const results: OpResult[] = c.array(body.results, 'results').map((raw, i) => parseOpResult(raw, `results[${i}]`, c));
  const out: PushResponse = { epoch, serverTime, ackSeq, results };
  if (body.warnings !== undefined) out.warnings = c.stringArray(body.warnings, 'warnings');
  if (request) {
    const order = new Map(request.ops.map((op, i) => [op.seq, i]));
    let last = -1;
    results.forEach((r, i) => {
      const at = order.get(r.seq);
      if (at === undefined) c.fail(`results[${i}].seq`, 'is not the seq of an op in the request');
      if (at <= last) c.fail(`results[${i}].seq`, 'results must follow the request order, once each');
      last = at;
      if (r.seq > ackSeq) c.fail('ackSeq', 'is lower than the seq of an op the server answered');
    });
  }
  return out;
}

const STATUSES: readonly OpStatus[] = ['applied', 'merged', 'conflict', 'duplicate', 'rejected'];

function parseOpResult(raw: unknown, path: string, c: Checker): OpResult {
  const o = c.object(raw, path);
  const seq = c.int(o.seq, `${path}.seq`, 1);
  const status = o.status;
  if (typeof status !== 'string' || !STATUSES.includes(status as OpStatus)) c.fail(`${path}.status`, `must be one of ${STATUSES.join(', ')}`);
  const r: OpResult = { seq, status: status as OpStatus };
  if (o.v !== undefined) r.v = c.int(o.v, `${path}.v`, 1);
  if (o.conflictId !== undefined) r.conflictId = c.string(o.conflictId, `${path}.conflictId`, { min: 1, max: MAX_ID_LENGTH });
  if (o.code !== undefined) r.code = c.string(o.code, `${path}.code`, { min: 1, max: 128 });
  if (o.detail !== undefined) r.detail = c.string(o.detail, `${path}.detail`);
  if (o.warnings !== undefined) r.warnings = c.stringArray(o.warnings, `${path}.warnings`);
  if (o.own !== undefined) {
    if (o.own !== true) c.fail(`${path}.own`, 'must be true when present');
    if (status !== 'applied' || r.v === undefined) c.fail(`${path}.own`, 'only an applied op with a version can be own');
    r.own = true;
  }
  if (status === 'rejected' && r.code === undefined) c.fail(`${path}.code`, 'is required when status is "rejected"');
  if (status === 'conflict' && r.conflictId === undefined) c.fail(`${path}.conflictId`, 'is required when status is "conflict"');
  if (status === 'merged' && r.conflictId === undefined) c.fail(`${path}.conflictId`, 'is required when status is "merged"');
  return r;
}

/**
 * Checks a changes page: types; versions strictly increasing, each <= `head`; at most one change
 * per document; a change carries either `doc` (whose `_id`, if present, equals `id`) or
 * `deleted: true`; `checkpoint` is `"<epoch>:<v>"` with this page's epoch, at or after the last
 * change, at most `head`; `horizon <= head`. With `since` (the cursor the request was made with)
 * and the same epoch: every change is newer than it and the checkpoint does not go backwards.
 */
export function parseChangesResponse(input: unknown, options: { since?: Checkpoint | null } = {}): ChangesResponse {
  const c: Checker = new Checker('bad_response');
  const body = c.object(decode(input, c), '');
  const epoch = body.epoch;
  if (!isValidEpoch(epoch)) c.fail('epoch', 'must be an epoch id');
  const serverTime = c.number(body.serverTime, 'serverTime', 0);
  const head = c.int(body.head, 'head', 0);
  const horizon = c.int(body.horizon, 'horizon', 0);
  if (horizon > head) c.fail('horizon', 'must not exceed head');
  const hasMore = c.bool(body.hasMore, 'hasMore');
  const cpText = c.string(body.checkpoint, 'checkpoint');
  const cp = parseCheckpoint(cpText);
  if (!cp) c.fail('checkpoint', 'must be "<epoch>:<version>"');
  if (cp.epoch !== epoch) c.fail('checkpoint', 'must carry the response\'s epoch');
  if (cp.v > head) c.fail('checkpoint', 'must not be beyond head');
  const sameEpoch = options.since ? options.since.epoch === epoch : false;
  const floor = sameEpoch && options.since ? options.since.v : 0;
  if (sameEpoch && cp.v < floor) c.fail('checkpoint', 'goes backwards');
  const seen = new Set<string>();
  let prev = floor;
  const own: OwnChange[] = [];
  const all = c.array(body.changes, 'changes').map((raw, i) => {
    const path = `changes[${i}]`;
    const ch = parseChange(raw, path, c);
    if (ch.v <= prev) c.fail(`${path}.v`, prev === floor && i === 0 ? 'must be newer than the requested cursor' : 'versions must be strictly increasing');
    if (ch.v > head) c.fail(`${path}.v`, 'must not be beyond head');
    prev = ch.v;
    const key = JSON.stringify([ch.coll, ch.id]);
    if (seen.has(key)) c.fail(path, 'the same document appears twice in one page');
    seen.add(key);
    return ch;
  });
  if (all.length > 0 && cp.v < all[all.length - 1].v) c.fail('checkpoint', 'must be at or after the last change of the page');
  const changes: Change[] = [];
  for (const ch of all) {
    if ('own' in ch) own.push(ch);
    else changes.push(ch);
  }
  const out: ChangesResponse = { epoch, serverTime, head, horizon, changes, checkpoint: cpText, hasMore };
  if (own.length > 0) out.own = own;
  if (body.epochStart !== undefined) {
    out.epochStart = c.int(body.epochStart, 'epochStart', 0);
    if (out.epochStart > head) c.fail('epochStart', 'must not exceed head');
  }
  if (body.checkpointProof !== undefined) {
    if (!isValidProof(body.checkpointProof)) c.fail('checkpointProof', 'must be 1-128 characters of A-Z a-z 0-9 _ -');
    out.checkpointProof = body.checkpointProof;
  }
  return out;
}

function parseChange(raw: unknown, path: string, c: Checker): Change | OwnChange {
  const o = c.object(raw, path);
  const v = c.int(o.v, `${path}.v`, 1);
  const coll = o.coll;
  if (!isValidName(coll)) c.fail(`${path}.coll`, 'must be a valid collection name');
  const id = o.id;
  if (!isValidDocId(id)) c.fail(`${path}.id`, 'must be a valid document id');
  if (o.own !== undefined) {
    if (o.own !== true) c.fail(`${path}.own`, 'must be true when present');
    if (o.doc !== undefined || o.deleted !== undefined) c.fail(path, 'an own change carries neither doc nor deleted');
    return { v, coll, id, own: true };
  }
  const hlc = c.hlc(o.hlc, `${path}.hlc`);
  const origin = c.string(o.origin, `${path}.origin`, { min: 1, max: 128 });
  const originSeq = c.int(o.originSeq, `${path}.originSeq`, 0);
  const ch: Change = { v, coll, id, hlc, origin, originSeq };
  if (o.deleted !== undefined) {
    if (o.deleted !== true) c.fail(`${path}.deleted`, 'must be true when present');
    if (o.doc !== undefined) c.fail(path, 'carries both doc and deleted');
    ch.deleted = true;
  } else {
    const doc = c.object(o.doc, `${path}.doc`);
    if (doc._id !== undefined && doc._id !== id) c.fail(`${path}.doc._id`, 'must equal the change\'s id');
    ch.doc = doc as JsonObject;
  }
  return ch;
}

/**
 * Checks a collections response. Names only have to be strings here (the client checks each
 * against the collection-name rules and skips the ones it cannot use); heads are versions, each
 * at most the dataset's `head` when that is present; no name twice.
 */
export function parseCollectionsResponse(input: unknown): CollectionsResponse {
  const c: Checker = new Checker('bad_response');
  const body = c.object(decode(input, c), '');
  const epoch = body.epoch;
  if (!isValidEpoch(epoch)) c.fail('epoch', 'must be an epoch id');
  const serverTime = c.number(body.serverTime, 'serverTime', 0);
  const head = body.head === undefined ? undefined : c.int(body.head, 'head', 0);
  const names = new Set<string>();
  const collections = c.array(body.collections, 'collections').map((raw, i) => {
    const path = `collections[${i}]`;
    const o = c.object(raw, path);
    const name = c.string(o.name, `${path}.name`, { min: 1 });
    const h = c.int(o.head, `${path}.head`, 0);
    if (head !== undefined && h > head) c.fail(`${path}.head`, 'must not exceed head');
    if (names.has(name)) c.fail(`${path}.name`, 'appears twice');
    names.add(name);
    return { name, head: h };
  });
  const out: CollectionsResponse = { epoch, serverTime, collections };
  if (head !== undefined) out.head = head;
  return out;
}

/** Checks a `/v1/info` response. */
export function parseInfoResponse(input: unknown): InfoResponse {
  const c: Checker = new Checker('bad_response');
  const body = c.object(decode(input, c), '');
  const p = c.object(body.protocol, 'protocol');
  const min = c.int(p.min, 'protocol.min', 1);
  const max = c.int(p.max, 'protocol.max', min);
  const serverTime = c.number(body.serverTime, 'serverTime', 0);
  const l = c.object(body.limits, 'limits');
  const limits: Limits = {
    maxOpsPerPush: c.int(l.maxOpsPerPush, 'limits.maxOpsPerPush', 1),
    maxPushBytes: c.int(l.maxPushBytes, 'limits.maxPushBytes', 1),
    maxDocBytes: c.int(l.maxDocBytes, 'limits.maxDocBytes', 1),
    maxPullLimit: c.int(l.maxPullLimit, 'limits.maxPullLimit', 1),
    maxPullBytes: c.int(l.maxPullBytes, 'limits.maxPullBytes', 1),
    maxWaitSec: c.number(l.maxWaitSec, 'limits.maxWaitSec', 0),
    maxClockDriftMs: c.number(l.maxClockDriftMs, 'limits.maxClockDriftMs', 0),
    tombstoneRetentionDays: c.number(l.tombstoneRetentionDays, 'limits.tombstoneRetentionDays', 0),
  };
  const out: InfoResponse = { protocol: { min, max }, serverTime, limits };
  if (body.capabilities !== undefined) {
    if (!Array.isArray(body.capabilities) || !body.capabilities.every((x) => typeof x === 'string')) c.fail('capabilities', 'must be an array of strings');
    out.capabilities = body.capabilities as string[];
  }
  return out;
}

/** Checks a `/v1/health` response. */
export function parseHealthResponse(input: unknown): HealthResponse {
  const c: Checker = new Checker('bad_response');
  const body = c.object(decode(input, c), '');
  if (body.status !== 'ok') c.fail('status', 'must be "ok"');
  const out: HealthResponse = { status: 'ok' };
  if (body.serverTime !== undefined) out.serverTime = c.number(body.serverTime, 'serverTime', 0);
  return out;
}

/** Checks a problem body (`application/problem+json`). Extra members are kept. */
export function parseProblem(input: unknown): Problem {
  const c: Checker = new Checker('bad_response');
  const body = c.object(decode(input, c), '');
  const type = c.string(body.type, 'type');
  const title = c.string(body.title, 'title');
  const status = c.int(body.status, 'status', 100);
  if (status > 599) c.fail('status', 'must be an HTTP status code');
  const detail = c.string(body.detail, 'detail');
  const code = c.string(body.code, 'code', { min: 1, max: 128 });
  const retryable = c.bool(body.retryable, 'retryable');
  return { ...body, type, title, status, detail, code, retryable };
}

/** Checks the body of a `_conflicts` document (e.g. one arriving in a changes page). */
export function parseConflictRecord(input: unknown): ConflictRecord {
  const c: Checker = new Checker('bad_response');
  const body = c.object(decode(input, c), '');
  const _id = c.string(body._id, '_id', { min: 1, max: MAX_ID_LENGTH });
  const coll = body.coll;
  if (!isValidName(coll)) c.fail('coll', 'must be a valid collection name');
  const docId = body.docId;
  if (!isValidDocId(docId)) c.fail('docId', 'must be a valid document id');
  const kind = body.kind;
  if (kind !== 'field' && kind !== 'update_vs_delete' && kind !== 'delete_vs_update' && kind !== 'update_of_purged') {
    c.fail('kind', 'must be field, update_vs_delete, delete_vs_update or update_of_purged');
  }
  const fieldsRaw = c.object(body.fields, 'fields');
  const fields: ConflictRecord['fields'] = {};
  for (const [f, pair] of Object.entries(fieldsRaw)) {
    const p = c.object(pair, `fields.${f}`);
    setOwn(fields, f, { winner: parseSide(p.winner, `fields.${f}.winner`, c), loser: parseSide(p.loser, `fields.${f}.loser`, c) }); // f may be "__proto__"
  }
  const serverTime = c.number(body.serverTime, 'serverTime', 0);
  return { ...body, _id, coll, docId, kind, fields, serverTime };
}

function parseSide(raw: unknown, path: string, c: Checker): ConflictSide {
  const o = c.object(raw, path);
  const s: ConflictSide = {};
  if (o.value !== undefined) s.value = o.value as Json;
  if (o.unset !== undefined) {
    if (o.unset !== true) c.fail(`${path}.unset`, 'must be true when present');
    s.unset = true;
  }
  if (o.deleted !== undefined) {
    if (o.deleted !== true) c.fail(`${path}.deleted`, 'must be true when present');
    s.deleted = true;
  }
  if (o.hlc !== undefined) s.hlc = c.hlc(o.hlc, `${path}.hlc`);
  if (o.origin !== undefined) s.origin = c.string(o.origin, `${path}.origin`);
  if (o.seq !== undefined) s.seq = c.int(o.seq, `${path}.seq`, 0);
  return s;
}

/** True if `s` is a well-formed HLC stamp (re-exported for validators built on this module). */
export { isHlc };
