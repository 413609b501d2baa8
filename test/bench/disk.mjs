// Disk-usage helper shared by the engine and sync benchmarks.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Size of a folder tree in MB (one decimal), or null when it cannot be read. */
export function dirSizeMB(dir) {
  let total = 0;
  const walk = (d) => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else total += statSync(p).size;
    }
  };
  try {
    walk(dir);
  } catch {
    return null;
  }
  return Math.round((total / 1048576) * 10) / 10;
}
