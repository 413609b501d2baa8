import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from './fsutil';

/** Database metadata, written once when the database is created. */
export interface DatabaseMeta {
  format: 1;
  /** Random 128-bit id of this database replica (used by sync). */
  replicaId: string;
  createdAt: string;
  /** Set when the database was made by upgrading another format's folder (`wisejson6`). */
  upgradedFrom?: string;
}

/** Writes the `meta.json` of a new database into `dir` (atomically) and returns it. */
export async function writeNewMeta(dir: string, extra: Partial<DatabaseMeta> = {}): Promise<DatabaseMeta> {
  const meta: DatabaseMeta = { format: 1, replicaId: randomBytes(16).toString('hex'), createdAt: new Date().toISOString(), ...extra };
  await writeFileAtomic(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}
