/**
 * Test helper: a fresh database in its own temp folder per test, closed and removed afterwards.
 *
 *   describe('x', () => {
 *     const t = useTmpDb();              // registers beforeEach/afterEach in this describe
 *     it('y', async () => {
 *       const users = await t.db.collection('users');
 *       ...
 *       await t.reopen();                // close + new WiseJSON on the same folder
 *     });
 *   });
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WiseJSON, WiseJSONOptions } from '../../../src/engine';

export class TmpDb {
  /** The database folder (inside a fresh temp folder). */
  dir = '';
  private root = '';
  private current: WiseJSON | null = null;
  private readonly opened: WiseJSON[] = [];

  constructor(private readonly defaults: WiseJSONOptions = {}) {}

  /** The database opened last. */
  get db(): WiseJSON {
    if (!this.current) throw new Error('TmpDb: no database is open');
    return this.current;
  }

  async setup(): Promise<void> {
    this.root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'wisejson-api-test-'));
    this.dir = path.join(this.root, 'db');
  }

  /** Opens (and initialises) a database on the folder; it becomes `db`. */
  async open(options: WiseJSONOptions = {}): Promise<WiseJSON> {
    const db = new WiseJSON(this.dir, { ...this.defaults, ...options });
    this.opened.push(db);
    await db.init();
    this.current = db;
    return db;
  }

  /** Closes `db` and opens a new instance on the same folder. */
  async reopen(options: WiseJSONOptions = {}): Promise<WiseJSON> {
    if (this.current) await this.current.close();
    this.current = null;
    return this.open(options);
  }

  /**
   * Bytes of log records written so far, over all segments. Segments are preallocated with zeros,
   * so the file sizes say nothing: count up to the last non-zero byte of each segment (a record
   * always ends with its JSON text, never with a zero byte).
   */
  walBytes(): number {
    const walDir = path.join(this.dir, 'wal');
    let n = 0;
    for (const name of fs.readdirSync(walDir)) {
      const buf = fs.readFileSync(path.join(walDir, name));
      let end = buf.length;
      while (end > 0 && buf[end - 1] === 0) end--;
      n += end;
    }
    return n;
  }

  /** The text of every log segment, concatenated. */
  walText(): string {
    const walDir = path.join(this.dir, 'wal');
    return fs.readdirSync(walDir).sort().map((name) => fs.readFileSync(path.join(walDir, name), 'utf8')).join('');
  }

  /** A path for a scratch file inside the test's temp folder (not inside the database). */
  file(name: string): string {
    return path.join(this.root, name);
  }

  async teardown(): Promise<void> {
    for (const db of this.opened) await db.close().catch(() => undefined);
    this.opened.length = 0;
    this.current = null;
    if (this.root) await fs.promises.rm(this.root, { recursive: true, force: true });
    this.root = '';
  }
}

/** Registers a fresh, opened database per test of the enclosing `describe`. */
export function useTmpDb(defaults: WiseJSONOptions = {}): TmpDb {
  const t = new TmpDb(defaults);
  beforeEach(async () => {
    await t.setup();
    await t.open();
  });
  afterEach(async () => {
    await t.teardown();
  });
  return t;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves when `check()` becomes true; rejects after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** The ids of `docs`, sorted. */
export function ids(docs: readonly { _id: string }[]): string[] {
  return docs.map((d) => d._id).sort();
}

/** True if the value and everything inside it is frozen. */
export function isDeepFrozen(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (!Object.isFrozen(v)) return false;
  return Object.values(v as object).every(isDeepFrozen);
}
