import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lockfile from 'proper-lockfile';
import { LockError } from '../errors';

interface Owner {
  pid: number;
  host: string;
  /** Identity of the lock directory this owner created (inode + birth time, ns). */
  dir: string;
}

const WAIT_LIMIT_MS = 60_000;
/** A waiter refreshes its "want" mark this often… */
const WANT_SIGNAL_EVERY_MS = 20;
/** …and the holder treats a mark this recent as someone waiting. */
const WANT_FRESH_MS = 500;

/**
 * The database folder's write lock, shared by every process that opens it (two VS Code windows,
 * the extension and a script). proper-lockfile makes it (an atomic mkdir, its mtime refreshed
 * while held); a lock older than `staleMs` is taken over. Beside it we record the holder's pid:
 * when that process is dead (the extension host was killed and restarted), the lock is taken over
 * at once instead of after `staleMs`.
 */
export class WriteLock {
  private release: (() => Promise<void>) | null = null;
  private compromised: Error | null = null;

  /**
   * @param name the lock's file name in the folder: `write.lock` for commits, `sync.lock` for
   * the one process that runs the sync loop.
   */
  constructor(private readonly dbDir: string, private readonly staleMs: number, private readonly name = 'write.lock') {}

  /**
   * The lock's path. It is also the key proper-lockfile files its lock under in this process,
   * so two locks of one folder (write and sync) stay independent.
   */
  get lockPath(): string {
    return path.join(this.dbDir, this.name);
  }

  private get ownerPath(): string {
    return `${this.lockPath}.owner`;
  }

  /** Touched by a process waiting for the lock, so the holder knows to hand it over. */
  private get wantPath(): string {
    return `${this.lockPath}.want`;
  }

  /** Takes the lock if it is free (or its owner is dead); false if a live process holds it. */
  async tryAcquire(): Promise<boolean> {
    if (this.release) return true;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.compromised = null;
        this.release = await this.lockOnce();
        await this.recordOwner();
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw new LockError(`Could not take ${this.lockPath}: ${(err as Error).message}.`, err);
        if (!(await this.takeOverFromDeadOwner())) return false;
      }
    }
    return false;
  }

  get held(): boolean {
    return this.release !== null && this.compromised === null;
  }

  private lastWant = 0;

  private async signalWaiting(): Promise<void> {
    const now = Date.now();
    if (now - this.lastWant < WANT_SIGNAL_EVERY_MS) return;
    this.lastWant = now;
    try {
      await fs.promises.writeFile(this.wantPath, String(process.pid));
    } catch {
      // Only a hint: without it the holder still hands over after its lease.
    }
  }

  /** True when another process has been waiting for the lock recently. */
  async othersWaiting(): Promise<boolean> {
    try {
      const st = await fs.promises.stat(this.wantPath);
      return Date.now() - st.mtimeMs < WANT_FRESH_MS;
    } catch {
      return false;
    }
  }

  async acquire(): Promise<void> {
    if (this.release) throw new LockError('The write lock is already held by this database instance.');
    this.compromised = null;
    const deadline = Date.now() + WAIT_LIMIT_MS;
    let delay = 1;
    for (;;) {
      try {
        this.release = await this.lockOnce();
        await this.recordOwner();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
          throw new LockError(`Could not take the write lock of ${this.dbDir}: ${(err as Error).message}. Check that the folder is writable.`, err);
        }
      }
      if (await this.takeOverFromDeadOwner()) continue;
      await this.signalWaiting();
      if (Date.now() > deadline) {
        throw new LockError(`Could not take the write lock of ${this.dbDir} for a minute: another process keeps it. Close other programs using this database, or remove ${this.lockPath} if no such program is running.`);
      }
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
      delay = Math.min(delay * 1.5, 15);
    }
  }

  /** One attempt at proper-lockfile's lock (no retries: the callers decide how to wait). */
  private lockOnce(): Promise<() => Promise<void>> {
    return lockfile.lock(this.lockPath, {
      lockfilePath: this.lockPath,
      realpath: false,
      stale: this.staleMs,
      update: Math.max(1000, Math.floor(this.staleMs / 2)),
      retries: 0,
      onCompromised: (err) => {
        this.compromised = err;
      },
    });
  }

  /** Throws when another process took the lock over while we held it (we stalled past staleMs). */
  assertHeld(): void {
    if (this.compromised) {
      throw new LockError(`The write lock of ${this.dbDir} was taken over by another process while this one was stalled; the write was not saved. Retry it.`, this.compromised);
    }
  }

  async releaseLock(): Promise<void> {
    const release = this.release;
    this.release = null;
    if (release && !this.compromised) {
      try {
        await release();
      } catch {
        // Already released or taken over: nothing of ours to clean up.
      }
    }
  }

  private async lockIdentity(): Promise<string | null> {
    try {
      const st = await fs.promises.stat(this.lockPath, { bigint: true });
      return `${st.ino}:${st.birthtimeNs}`;
    } catch {
      return null;
    }
  }

  private async recordOwner(): Promise<void> {
    const dir = await this.lockIdentity();
    if (!dir) return;
    const owner: Owner = { pid: process.pid, host: os.hostname(), dir };
    try {
      await fs.promises.writeFile(this.ownerPath, JSON.stringify(owner));
    } catch {
      // Only an optimisation: without it a dead holder's lock expires after staleMs.
    }
  }

  /**
   * If the lock's recorded owner is a process on this machine that no longer exists, removes the
   * lock (moving it aside atomically, so two waiters cannot both remove it) and returns true.
   */
  private async takeOverFromDeadOwner(): Promise<boolean> {
    let owner: Owner;
    try {
      owner = JSON.parse(await fs.promises.readFile(this.ownerPath, 'utf8')) as Owner;
    } catch {
      return false;
    }
    if (owner.host !== os.hostname() || isAlive(owner.pid)) return false;
    const identity = await this.lockIdentity();
    if (identity === null || identity !== owner.dir) return false; // a newer holder: not this owner's lock
    const aside = `${this.lockPath}.dead-${process.pid}-${Date.now()}`;
    try {
      await fs.promises.rename(this.lockPath, aside);
    } catch {
      return false; // another waiter moved it first
    }
    const st = await fs.promises.stat(aside, { bigint: true }).catch(() => null);
    if (st && `${st.ino}:${st.birthtimeNs}` !== owner.dir) {
      // In the instant between our checks a live process took a fresh lock: give it back.
      await fs.promises.rename(aside, this.lockPath).catch(() => undefined);
      return false;
    }
    await fs.promises.rm(aside, { recursive: true, force: true });
    return true;
  }
}

/** True when a process with this id exists (on this machine). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
