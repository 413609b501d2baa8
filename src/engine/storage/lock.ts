import * as lockfile from 'proper-lockfile';
import * as path from 'node:path';
import { LockError } from '../errors';

/**
 * The database folder's write lock, shared by every process that opens it (two VS Code windows,
 * the extension and a script). It is held only for the few milliseconds of one group commit, so
 * processes take turns; a lock left by a killed process is taken over once it is `staleMs` old
 * (proper-lockfile refreshes the lock's mtime while a live holder keeps it).
 */
export class WriteLock {
  private release: (() => Promise<void>) | null = null;
  private compromised: Error | null = null;

  constructor(private readonly dbDir: string, private readonly staleMs: number) {}

  get lockPath(): string {
    return path.join(this.dbDir, 'write.lock');
  }

  async acquire(): Promise<void> {
    if (this.release) throw new LockError('The write lock is already held by this database instance.');
    this.compromised = null;
    try {
      this.release = await lockfile.lock(this.dbDir, {
        lockfilePath: this.lockPath,
        realpath: false,
        stale: this.staleMs,
        update: Math.max(1000, Math.floor(this.staleMs / 2)),
        retries: { retries: 4000, factor: 1.2, minTimeout: 1, maxTimeout: 15, randomize: true },
        onCompromised: (err) => {
          this.compromised = err;
        },
      });
    } catch (err) {
      throw new LockError(
        `Could not take the write lock of ${this.dbDir} for about a minute: another process keeps it. Close other programs using this database, or remove ${this.lockPath} if no such program is running.`,
        err,
      );
    }
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
}
