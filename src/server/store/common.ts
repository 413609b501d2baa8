/**
 * What every SyncStorage does the same way, whatever keeps the rows: checkpoint proofs, epochs,
 * the merge of a push's ops against the stored rows, and the serialized changes page.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { clampHlc, HybridLogicalClock } from '../../sync/hlc';
import { Change, ChangesQuery, formatCheckpoint, Limits, OpResult, OwnChange, parseCheckpoint, PushRequest, PushResponse } from '../../sync/protocol';
import { SyncServerError } from '../errors';
import { DocRow, mergeOp, MergeContext, rowKey } from '../merge';

/** A dataset's epoch state, as every store keeps it. */
export interface EpochState {
  name: string;
  epoch: string;
  head: number;
  horizon: number;
  /** The head when the current epoch began; null when unknown (rotated by an older server). */
  epochStart: number | null;
  /** The key of the dataset's checkpoint proofs. */
  secret: Buffer;
}

export function newSecret(): string {
  return randomBytes(32).toString('hex');
}

export function newEpoch(): string {
  return 'e_' + randomBytes(8).toString('hex');
}

/**
 * The proof that this server issued `checkpoint` (an HMAC under the dataset's secret). A client
 * cannot make one up, so a checkpoint ahead of the head that carries a valid proof is evidence
 * of a restore from an older copy, not of a client's claim.
 */
export function proofOf(ds: EpochState, checkpoint: string): string {
  return createHmac('sha256', ds.secret).update(ds.name).update('\n').update(checkpoint).digest('base64url').slice(0, 32);
}

/** Whether `proof` is this dataset's proof of `checkpoint`. */
export function issued(ds: EpochState, checkpoint: string, proof: string | undefined): boolean {
  if (proof === undefined) return false;
  const want = Buffer.from(proofOf(ds, checkpoint));
  const got = Buffer.from(proof);
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Extra members of a 409 problem: the current epoch, and where it began when known. */
export function epochExtra(ds: EpochState): Record<string, unknown> {
  return ds.epochStart === null ? { epoch: ds.epoch } : { epoch: ds.epoch, epochStart: ds.epochStart };
}

/**
 * A checkpoint ahead of the head that this server cannot confirm it issued (no proof, or a proof
 * that is not this dataset's): only a restore proven by the server's own proof may start a new
 * epoch, so nobody can make every client of a dataset re-sync at will.
 */
export function aheadUnproven(ds: EpochState): SyncServerError {
  return new SyncServerError(400, 'invalid_checkpoint', 'The checkpoint is ahead of the server and carries no valid proof that this server issued it (a made-up checkpoint, or one from a client of an older version or of a server restored from a copy older than its proof key): nothing was changed. Pull again from since=0.', { extra: epochExtra(ds) });
}

export function replicaNotOwned(): SyncServerError {
  return new SyncServerError(403, 'replica_not_owned', 'This replicaId was first pushed with another API key; a replica can only push with that key.');
}

/**
 * A row as the change a pull sends. For the replica that wrote the row's whole state (`sole`),
 * when it asked with `replica=`, the body is left out: it has it (see OwnChange).
 */
export function toChange(row: DocRow, replica?: string): Change | OwnChange {
  if (replica !== undefined && row.sole === true && row.origin === replica && !row.del) return { v: row.v, coll: row.coll, id: row.id, own: true };
  const c: Change = row.del
    ? { v: row.v, coll: row.coll, id: row.id, deleted: true, hlc: row.hlc, origin: row.origin, originSeq: row.oseq }
    : { v: row.v, coll: row.coll, id: row.id, doc: row.body ?? { _id: row.id }, hlc: row.hlc, origin: row.origin, originSeq: row.oseq };
  return c;
}

/** The merge of one push's ops: what to write, and the answer once it is written. */
export interface MergedPush {
  /** The replica's lastSeq before the push, and after it. */
  stored: number;
  running: number;
  /** The new head (versions stored..head were given out, in op order). */
  head: number;
  /** The new state of each row the push changed, by row key. */
  rows: Map<string, DocRow>;
  /** Conflict records to insert (each with its own version). */
  conflicts: DocRow[];
  /** The highest stamp written (the store keeps its clock after it across restarts). */
  highestHlc: string | null;
  response(epoch: string): PushResponse;
}

/**
 * Merges `req`'s ops against the stored rows (`lookup` by row key) for a replica whose lastSeq is
 * `stored`: ops at or below it are duplicates; the others get versions after `head`.
 */
export function mergePush(
  req: PushRequest,
  at: { stored: number; head: number; horizon: number },
  lookup: (key: string) => DocRow | undefined,
  clock: HybridLogicalClock,
  limits: Limits,
  now: number,
  serverNow: () => number,
): MergedPush {
  const { stored } = at;
  let running = stored;
  let head = at.head;
  const results: OpResult[] = [];
  const warnings = new Set<string>();
  const rows = new Map<string, DocRow>();
  const conflicts: DocRow[] = [];
  let highestHlc: string | null = null;
  const ctx: MergeContext = {
    replicaId: req.replicaId, now, horizon: at.horizon, maxDocBytes: limits.maxDocBytes,
    nextV: () => ++head, serverHlc: () => clock.tick(),
  };
  for (const op of req.ops) {
    if (op.seq <= stored) {
      results.push({ seq: op.seq, status: 'duplicate' });
      continue;
    }
    if (op.seq > running + 1) warnings.add('seq_gap');
    running = op.seq;
    const { hlc, clamped } = clampHlc(op.hlc, clock, now, limits.maxClockDriftMs);
    const key = rowKey(op.coll, op.id);
    const cur = rows.get(key) ?? lookup(key);
    const out = mergeOp(cur, op, hlc, ctx, clamped ? ['clock_skew'] : []);
    if (out.row) {
      rows.set(key, out.row);
      if (highestHlc === null || out.row.hlc > highestHlc) highestHlc = out.row.hlc;
    }
    if (out.conflict) {
      conflicts.push(out.conflict);
      if (highestHlc === null || out.conflict.hlc > highestHlc) highestHlc = out.conflict.hlc;
    }
    results.push(out.result);
  }
  return {
    stored, running, head, rows, conflicts, highestHlc,
    response: (epoch) => {
      const r: PushResponse = { epoch, serverTime: serverNow(), ackSeq: Math.max(stored, running), results };
      if (warnings.size > 0) r.warnings = [...warnings];
      return r;
    },
  };
}

/** The body of a changes page: `changes` are serialized changes (see toChange). */
export function changesPageBody(ds: EpochState, serverTime: number, changes: string[], checkpointV: number, hasMore: boolean): string {
  const checkpoint = formatCheckpoint(ds.epoch, checkpointV);
  return `{"epoch":${JSON.stringify(ds.epoch)},"serverTime":${serverTime},"head":${ds.head},"horizon":${ds.horizon},` +
    `"changes":[${changes.join(',')}],"checkpoint":${JSON.stringify(checkpoint)},"hasMore":${hasMore}` +
    `${ds.epochStart === null ? '' : `,"epochStart":${ds.epochStart}`},"checkpointProof":${JSON.stringify(proofOf(ds, checkpoint))}}`;
}

/**
 * A push's checkpoint against the dataset. Throws 409 for another epoch and 400 for an unproven
 * checkpoint ahead of the head. Returns the version to rotate at when a proven checkpoint is ahead
 * (the data was restored from an older copy): the caller starts a new epoch, then throws
 * {@link restoredAtPush}. Null when the push may go on.
 */
export function pushCheckpointCheck(ds: EpochState, req: PushRequest): number | null {
  if (req.checkpointEpoch !== null && req.checkpointEpoch !== ds.epoch) {
    throw new SyncServerError(409, 'epoch_mismatch', 'The dataset was reset or restored since the client\'s checkpoint: reconcile (pull from since=0) before pushing again.', { extra: epochExtra(ds) });
  }
  const cp = req.checkpoint ? parseCheckpoint(req.checkpoint) : null;
  if (cp && cp.epoch === ds.epoch && cp.v > ds.head) {
    // The client has pulled versions this server does not have. With this server's proof that
    // it issued that checkpoint, its data was restored from an older copy (which keeps its
    // epoch): a new epoch (once: every later checkpoint of the old epoch is simply of another
    // epoch), then 409. Without a valid proof it is only the client's claim: 400.
    if (issued(ds, req.checkpoint!, req.checkpointProof)) return cp.v;
    throw aheadUnproven(ds);
  }
  return null;
}

export function restoredAtPush(ds: EpochState): SyncServerError {
  return new SyncServerError(409, 'epoch_mismatch', 'The client\'s checkpoint is ahead of the server (its data was restored from a backup): a new epoch was started; reconcile from since=0 before pushing again.', { extra: epochExtra(ds) });
}

/**
 * A pull's `since` against the dataset: throws 409 for another epoch, 400 for an unproven
 * checkpoint ahead of the head, 410 for one older than the purge horizon. Returns the version
 * to rotate at for a proven one ahead (then {@link restoredAtPull}), else null.
 */
export function pullCheckpointCheck(ds: EpochState, q: ChangesQuery): number | null {
  const since = q.since;
  if (since && since.epoch !== ds.epoch) {
    throw new SyncServerError(409, 'epoch_mismatch', 'The checkpoint belongs to another epoch of this dataset (it was reset or restored): reconcile from since=0.', { extra: epochExtra(ds) });
  }
  if (since && since.v > ds.head) {
    // The client has seen versions this server does not have. When this server issued that
    // checkpoint (its proof says so), the data was restored from an older backup: start a new
    // epoch so that every client reconciles (and re-uploads). Without a valid proof: 400.
    if (!issued(ds, formatCheckpoint(since.epoch, since.v), q.proof)) throw aheadUnproven(ds);
    return since.v;
  }
  if (since && since.v < ds.horizon) {
    throw new SyncServerError(410, 'checkpoint_expired', `The checkpoint (version ${since.v}) is older than the purge horizon (${ds.horizon}): deletions since then are gone; reconcile from since=0.`, { extra: { epoch: ds.epoch, horizon: ds.horizon } });
  }
  return null;
}

export function restoredAtPull(ds: EpochState): SyncServerError {
  return new SyncServerError(409, 'epoch_mismatch', 'The checkpoint is ahead of the server (its data was restored from a backup): a new epoch was started; reconcile from since=0.', { extra: epochExtra(ds) });
}
