/**
 * Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", OPODIS 2014), in the string
 * form of protocol `docsync/1`:
 *
 *   "<ms, 16 decimal digits>:<counter, 4 lowercase hex digits>:<node>"
 *
 * e.g. `"0001761234567890:0000:r_6k2f"`. Because every part has a fixed width (the node comes
 * last), plain string comparison orders stamps exactly like comparing `(ms, counter, node)`
 * lexicographically, which is the total order used for last-writer-wins.
 *
 * Rules (state `l` = the largest ms seen, `c` = counter):
 *
 *   local event / send:  l' = l;  l = max(l', pt);  c = (l == l') ? c + 1 : 0
 *   receive stamp m:     l' = l;  l = max(l', m.l, pt)
 *                        c = (l == l' && l == m.l) ? max(c, m.c) + 1
 *                          : (l == l') ? c + 1 : (l == m.l) ? m.c + 1 : 0
 *
 * The counter has 4 hex digits. When it would pass 0xffff the clock moves `l` on by one
 * millisecond and restarts the counter at 0 (the stamp stays ahead of everything seen and keeps
 * its format; `l` then runs at most a few ms ahead of physical time under extreme load).
 *
 * No vscode import: used by the sync client, the server and tests alike.
 */

/** Largest counter value (4 hex digits). */
export const HLC_MAX_COUNTER = 0xffff;

/** Node ids: what may follow the second colon. Replica ids are a subset of this. */
const NODE_RE = /^[A-Za-z0-9_-]{1,128}$/;
const HLC_RE = /^(\d{16}):([0-9a-f]{4}):([A-Za-z0-9_-]{1,128})$/;

/** A stamp, parsed. */
export interface Hlc {
  /** Physical (or, after a receive, adopted) milliseconds since the epoch. */
  ms: number;
  /** Logical counter, 0..0xffff. */
  counter: number;
  /** The node (replica) that issued it. */
  node: string;
}

/** A malformed stamp or node id (`code` = `invalid_hlc`), or an unusable clock input. */
export class HlcError extends Error {
  readonly code: 'invalid_hlc' | 'invalid_node' | 'invalid_time';
  constructor(code: HlcError['code'], message: string) {
    super(message);
    this.name = 'HlcError';
    this.code = code;
  }
}

/** True if `node` can be the node part of a stamp. */
export function isHlcNode(node: unknown): node is string {
  return typeof node === 'string' && NODE_RE.test(node);
}

/** True if `value` is a well-formed stamp string. */
export function isHlc(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = HLC_RE.exec(value);
  return m !== null && Number(m[1]) <= Number.MAX_SAFE_INTEGER;
}

/** Parses a stamp; throws HlcError(`invalid_hlc`) if it is malformed. */
export function parseHlc(value: string): Hlc {
  const m = typeof value === 'string' ? HLC_RE.exec(value) : null;
  if (!m) {
    throw new HlcError('invalid_hlc', 'Invalid HLC stamp: expected "<16 digits>:<4 lowercase hex digits>:<node id>".');
  }
  const ms = Number(m[1]);
  if (ms > Number.MAX_SAFE_INTEGER) throw new HlcError('invalid_hlc', 'Invalid HLC stamp: its milliseconds exceed Number.MAX_SAFE_INTEGER.');
  return { ms, counter: parseInt(m[2], 16), node: m[3] };
}

/** Formats a stamp; throws HlcError if a part is out of range. */
export function formatHlc(h: Hlc): string {
  if (!Number.isSafeInteger(h.ms) || h.ms < 0) throw new HlcError('invalid_time', 'HLC milliseconds must be a non-negative safe integer.');
  if (!Number.isInteger(h.counter) || h.counter < 0 || h.counter > HLC_MAX_COUNTER) throw new HlcError('invalid_hlc', 'HLC counter must be an integer in 0..0xffff.');
  if (!isHlcNode(h.node)) throw new HlcError('invalid_node', 'HLC node id must be 1-128 characters of A-Z a-z 0-9 _ -.');
  return `${String(h.ms).padStart(16, '0')}:${h.counter.toString(16).padStart(4, '0')}:${h.node}`;
}

/**
 * Total order of stamps: by ms, then counter, then node. Accepts strings or parsed stamps.
 * Returns -1, 0 or 1.
 */
export function compareHlc(a: string | Hlc, b: string | Hlc): -1 | 0 | 1 {
  const x = typeof a === 'string' ? parseHlc(a) : a;
  const y = typeof b === 'string' ? parseHlc(b) : b;
  if (x.ms !== y.ms) return x.ms < y.ms ? -1 : 1;
  if (x.counter !== y.counter) return x.counter < y.counter ? -1 : 1;
  if (x.node === y.node) return 0;
  return x.node < y.node ? -1 : 1;
}

/** The larger of two stamps (the first on a tie). */
export function maxHlc(a: string, b: string): string {
  return compareHlc(a, b) >= 0 ? a : b;
}

/** The same ms and counter, issued under another node id (used when the server clamps a stamp). */
export function withNode(h: string | Hlc, node: string): string {
  const p = typeof h === 'string' ? parseHlc(h) : h;
  return formatHlc({ ms: p.ms, counter: p.counter, node });
}

/** True if `stamp` is more than `maxDriftMs` ahead of `nowMs`. */
export function isAheadBy(stamp: string | Hlc, nowMs: number, maxDriftMs: number): boolean {
  const p = typeof stamp === 'string' ? parseHlc(stamp) : stamp;
  return p.ms > nowMs + maxDriftMs;
}

export interface HybridLogicalClockOptions {
  /** Physical time source, ms. Default `Date.now` (the client passes `Date.now() + serverOffset`). */
  now?: () => number;
  /** The persisted high-water mark to continue from (so the clock never goes back across restarts). */
  last?: string | Hlc | null;
}

/**
 * One node's clock. `tick()` stamps a local event (a write); `receive(stamp)` merges a remote stamp
 * (e.g. every pulled change's `hlc`). `last` is the high-water mark to persist.
 */
export class HybridLogicalClock {
  readonly node: string;
  private readonly physical: () => number;
  private l = 0;
  private c = 0;
  private issued = false;

  constructor(node: string, options: HybridLogicalClockOptions = {}) {
    if (!isHlcNode(node)) throw new HlcError('invalid_node', 'HLC node id must be 1-128 characters of A-Z a-z 0-9 _ -.');
    this.node = node;
    this.physical = options.now ?? Date.now;
    if (options.last !== undefined && options.last !== null) {
      const p = typeof options.last === 'string' ? parseHlc(options.last) : options.last;
      this.l = p.ms;
      this.c = p.counter;
      this.issued = true;
    }
  }

  private pt(): number {
    const t = Math.floor(this.physical());
    if (!Number.isSafeInteger(t) || t < 0) throw new HlcError('invalid_time', 'The physical clock returned a value that is not a non-negative safe integer.');
    return t;
  }

  /** Local event or send: a new stamp, strictly greater than every stamp issued or received so far. */
  tick(): string {
    const pt = this.pt();
    const lOld = this.l;
    this.l = Math.max(lOld, pt);
    this.c = this.l === lOld && this.issued ? this.c + 1 : 0;
    this.issued = true;
    this.carry();
    return this.current();
  }

  /** Same as {@link tick} (the paper's "send" rule). */
  now(): string {
    return this.tick();
  }

  /**
   * Receive rule: merges a remote stamp and returns the resulting local stamp, which is greater
   * than both the remote stamp and every stamp this clock issued before.
   */
  receive(remote: string | Hlc): string {
    const m = typeof remote === 'string' ? parseHlc(remote) : remote;
    const pt = this.pt();
    const lOld = this.l;
    const cOld = this.issued ? this.c : -1;
    this.l = Math.max(lOld, m.ms, pt);
    if (this.l === lOld && this.l === m.ms) this.c = Math.max(cOld, m.counter) + 1;
    else if (this.l === lOld) this.c = cOld + 1;
    else if (this.l === m.ms) this.c = m.counter + 1;
    else this.c = 0;
    this.issued = true;
    this.carry();
    return this.current();
  }

  /** The last stamp issued or adopted (the high-water mark to persist), or null if none yet. */
  get last(): string | null {
    return this.issued ? this.current() : null;
  }

  private carry(): void {
    if (this.c > HLC_MAX_COUNTER) {
      this.l += 1;
      this.c = 0;
    }
  }

  private current(): string {
    return formatHlc({ ms: this.l, counter: this.c, node: this.node });
  }
}

/**
 * The server's clock-skew guard. A stamp more than `maxDriftMs` ahead of `nowMs` is *clamped*:
 * it is replaced, for ordering, by `clock.tick()` re-issued under the stamp's own node id (so
 * ties still break by replica). Otherwise the stamp is kept and merged into `clock` with the
 * receive rule. A device whose clock runs hours ahead therefore cannot win every concurrent
 * write until real time catches up; its writes are ordered as if made when the server got them.
 */
export function clampHlc(stamp: string, clock: HybridLogicalClock, nowMs: number, maxDriftMs: number): { hlc: string; clamped: boolean } {
  const p = parseHlc(stamp);
  if (p.ms > nowMs + maxDriftMs) return { hlc: withNode(clock.tick(), p.node), clamped: true };
  clock.receive(p);
  return { hlc: stamp, clamped: false };
}
