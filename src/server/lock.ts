/**
 * One server per data directory: `<dataDir>/server.lock` holds the owner's pid. A lock whose pid
 * is no longer running is taken over (the previous server crashed). The server keeps its change
 * index in memory, so a second writer on the same folder would corrupt what it serves.
 */
import { isAlive } from '../engine/storage/lock';
import * as fs from 'node:fs';
import * as path from 'node:path';

export class DataDirLockError extends Error {
  readonly code = 'data_dir_locked';
  constructor(message: string) {
    super(message);
    this.name = 'DataDirLockError';
  }
}

const heldHere = new Set<string>();


/** Takes the lock; resolves with its release function. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await fs.promises.mkdir(dataDir, { recursive: true });
  const file = path.join(path.resolve(dataDir), 'server.lock');
  if (heldHere.has(file)) throw new DataDirLockError(`Another server in this process already uses ${dataDir}.`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await fs.promises.open(file, 'wx');
      try {
        await fh.writeFile(String(process.pid));
        await fh.sync();
      } finally {
        await fh.close();
      }
      heldHere.add(file);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        heldHere.delete(file);
        await fs.promises.rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let pid = NaN;
    try {
      pid = Number((await fs.promises.readFile(file, 'utf8')).trim());
    } catch {
      // removed meanwhile: retry
    }
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new DataDirLockError(`${dataDir} is in use by another sync server (pid ${pid}). Stop it first, or use another --data folder.`);
    }
    // Stale (crashed owner, or a leftover of this very pid): take it over.
    await fs.promises.rm(file, { force: true });
  }
  throw new DataDirLockError(`Could not lock ${dataDir}; is another server starting on it?`);
}
