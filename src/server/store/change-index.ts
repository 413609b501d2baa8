/**
 * The in-memory change index of one dataset: every document's latest row, ordered by version.
 *
 * `log` is an append-only array in ascending `v`; when a document gets a new version its old
 * entry is only marked dead (O(1)), and the array is compacted once dead entries outnumber live
 * ones (amortised O(1) per write). A pull finds its start by binary search and walks forward,
 * so a page costs O(log n + page size) — never a scan and sort of the whole dataset.
 */
export interface IndexEntry<R> {
  readonly key: string;
  readonly v: number;
  readonly row: R;
  live: boolean;
}

export class ChangeIndex<R> {
  private log: IndexEntry<R>[] = [];
  private readonly byKey = new Map<string, IndexEntry<R>>();
  private dead = 0;

  get size(): number {
    return this.byKey.size;
  }

  get lastV(): number {
    return this.log.length > 0 ? this.log[this.log.length - 1].v : 0;
  }

  get(key: string): IndexEntry<R> | undefined {
    return this.byKey.get(key);
  }

  /** Records `row` as the latest state of `key`, at version `v` (must exceed every version so far). */
  set(key: string, v: number, row: R): void {
    if (this.log.length > 0 && v <= this.lastV) throw new Error(`ChangeIndex: version ${v} is not after ${this.lastV}`);
    this.kill(key);
    const e: IndexEntry<R> = { key, v, row, live: true };
    this.byKey.set(key, e);
    this.log.push(e);
  }

  /** Bulk load (startup): entries in any order. */
  load(entries: { key: string; v: number; row: R }[]): void {
    const sorted = [...entries].sort((a, b) => a.v - b.v);
    this.log = [];
    this.byKey.clear();
    this.dead = 0;
    for (const e of sorted) this.set(e.key, e.v, e.row);
  }

  /** Forgets `key` (purge). */
  delete(key: string): void {
    this.kill(key);
    this.maybeCompact();
  }

  private kill(key: string): void {
    const old = this.byKey.get(key);
    if (!old) return;
    old.live = false;
    this.byKey.delete(key);
    this.dead++;
  }

  private maybeCompact(): void {
    if (this.dead > 64 && this.dead > this.log.length / 2) {
      this.log = this.log.filter((e) => e.live);
      this.dead = 0;
    }
  }

  /** Live entries with version > `v`, in version order. */
  *after(v: number): IterableIterator<IndexEntry<R>> {
    this.maybeCompact();
    const log = this.log;
    let lo = 0;
    let hi = log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (log[mid].v <= v) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < log.length; i++) if (log[i].live) yield log[i];
  }

  /** Every live entry (any order). */
  values(): IterableIterator<IndexEntry<R>> {
    return this.byKey.values();
  }
}
