import * as fs from 'node:fs';
import * as path from 'node:path';
import { expiresAt } from '../document';
import { UpgradeNeededError } from '../errors';
import { writeCheckpoint } from '../storage/checkpoint';
import { fsyncDir, isNotFound, writeFileAtomic } from '../storage/fsutil';
import { writeNewMeta } from '../storage/meta';
import { findWisejson6Collections, readWisejson6, Wisejson6Problem } from './wisejson6-reader';

/**
 * The one-time upgrade of a WiseJSON 6 database folder, run by `init()` under the database's
 * write lock (a second process opening the folder meanwhile waits for the lock, then finds
 * the upgraded database).
 *
 * 1. Read the old data (nothing written; a damaged file stops here).
 * 2. Write the new database complete into `.wisejson6-upgrade/` (meta.json, wal/, checkpoints/).
 * 3. Write `.wisejson6-upgrade/journal.json`: from here on the upgrade is decided.
 * 4. Move (rename) the old collection folders into the backup folder, then move the new files
 *    into place, meta.json last; remove `.wisejson6-upgrade/`.
 *
 * A crash before 3 leaves the old data where it was: the next open deletes the staging folder
 * and upgrades again. A crash after 3 is finished by the next open (each move is a rename that
 * is either done or not). The backup folder is itself a WiseJSON 6 database folder.
 */

export const STAGING_DIR = '.wisejson6-upgrade';
const JOURNAL = 'journal.json';
const BACKUP_BASE = 'wisejson6-backup';
/** What moves from the staging folder into the database folder, in this order (meta.json last). */
const PLACED = ['wal', 'checkpoints', 'meta.json'] as const;

/** What the `upgraded` event reports. */
export interface UpgradeReport {
  from: 'wisejson6';
  /** Collections, documents and index definitions carried over. */
  collections: number;
  documents: number;
  indexes: number;
  /** Documents whose numeric `_id` became its decimal string. */
  renamedIds: number;
  /** Expired (TTL) documents left out, as WiseJSON 6 drops them on load. */
  expired: number;
  /** The folder holding the old files (absolute path); WiseJSON 6 can open it as it was. */
  backup: string;
  /** With `recoverCorruptLog: 'truncate'`: damaged files passed over and what they held. */
  skipped: { files: string[]; documents: number; walLines: number };
  /** Documents, collections or indexes not carried over as they were, and why. */
  problems: Wisejson6Problem[];
}

interface Journal {
  entries: string[];
  backup: string;
  /** An empty database of ours was beside the old data: its files give way to the new ones. */
  replaceEmpty?: boolean;
  report: Omit<UpgradeReport, 'backup'>;
}

/** @internal Test hook: called at each step of an upgrade (the crash tests kill the process there). */
export const upgradeSteps: { onStep: ((step: string) => void) | null } = { onStep: null };

function step(name: string): void {
  upgradeSteps.onStep?.(name);
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.promises.lstat(p);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Whether opening `dbPath` for writing would upgrade WiseJSON 6 data (or finish an upgrade). */
export async function needsUpgrade(dbPath: string): Promise<boolean> {
  if (await exists(path.join(dbPath, STAGING_DIR, JOURNAL))) return true;
  if (await exists(path.join(dbPath, 'meta.json'))) return false;
  return (await findWisejson6Collections(dbPath)).length > 0;
}

/**
 * Upgrades the WiseJSON 6 database in `dbPath`, or finishes an interrupted upgrade. The caller
 * holds the write lock. Resolves with the report, or null when there was nothing to upgrade.
 * `assertLockHeld` is called just before the upgrade is decided.
 */
export async function upgradeWisejson6(
  dbPath: string,
  options: { recover: boolean; idGenerator: () => string; assertLockHeld: () => void; replaceEmpty?: boolean },
): Promise<UpgradeReport | null> {
  const staging = path.join(dbPath, STAGING_DIR);
  const journalFile = path.join(staging, JOURNAL);
  if (await exists(journalFile)) {
    return finish(dbPath, JSON.parse(await fs.promises.readFile(journalFile, 'utf8')) as Journal);
  }
  // A staging folder without a journal: an upgrade that stopped before it was decided.
  if (await exists(staging)) await fs.promises.rm(staging, { recursive: true, force: true });
  if (!options.replaceEmpty && (await exists(path.join(dbPath, 'meta.json')))) return null;
  if ((await findWisejson6Collections(dbPath)).length === 0) return null;

  step('read');
  const data = await readWisejson6(dbPath, { recover: options.recover, idGenerator: options.idGenerator });

  await fs.promises.mkdir(path.join(staging, 'wal'), { recursive: true });
  await writeCheckpoint(
    path.join(staging, 'checkpoints'),
    0,
    data.collections.map((c) => ({
      name: c.name,
      indexes: c.indexes,
      docs: c.docs,
      count: c.docs.length,
      ttl: c.docs.filter((d) => expiresAt(d) !== null).map((d) => d._id),
    })),
  );
  step('checkpoint');
  await writeNewMeta(staging, { upgradedFrom: 'wisejson6' });
  await fsyncDir(staging);
  step('staged');

  let backup = BACKUP_BASE;
  for (let n = 2; await exists(path.join(dbPath, backup)); n++) backup = `${BACKUP_BASE}-${n}`;
  const journal: Journal = {
    entries: data.entries,
    backup,
    replaceEmpty: options.replaceEmpty === true,
    report: {
      from: 'wisejson6',
      collections: data.collections.length,
      documents: data.collections.reduce((n, c) => n + c.docs.length, 0),
      indexes: data.collections.reduce((n, c) => n + c.indexes.length, 0),
      renamedIds: data.renamedIds,
      expired: data.expired,
      skipped: data.skipped,
      problems: data.problems,
    },
  };
  options.assertLockHeld();
  await writeFileAtomic(journalFile, JSON.stringify(journal));
  step('journal');
  return finish(dbPath, journal);
}

/** Steps 4 on, each done only if not done yet, so a crash anywhere in them is finished by a re-run. */
async function finish(dbPath: string, journal: Journal): Promise<UpgradeReport> {
  const staging = path.join(dbPath, STAGING_DIR);
  const backup = path.join(dbPath, journal.backup);
  // While the new wal/ is still staged, what the database folder holds under an old entry's
  // name is the old entry (a WiseJSON 6 collection may be called "wal").
  if (await exists(path.join(staging, PLACED[0]))) {
    await fs.promises.mkdir(backup, { recursive: true });
    for (const entry of journal.entries) {
      if (await exists(path.join(dbPath, entry))) {
        await fs.promises.rename(path.join(dbPath, entry), path.join(backup, entry));
        step(`moved:${entry}`);
      }
    }
    await fsyncDir(backup);
    await fsyncDir(dbPath);
  }
  for (const item of PLACED) {
    if (await exists(path.join(staging, item))) {
      if (journal.replaceEmpty) await fs.promises.rm(path.join(dbPath, item), { recursive: true, force: true });
      await fs.promises.rename(path.join(staging, item), path.join(dbPath, item));
      await fsyncDir(dbPath);
      step(`placed:${item}`);
    }
  }
  await fs.promises.rm(staging, { recursive: true, force: true });
  step('done');
  return { ...journal.report, backup };
}
