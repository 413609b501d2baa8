/** The WiseJSON 6 fixture folders (written by the real 6.0.4, see make-fixtures.js) and writable copies of them. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/wisejson6');

/**
 * For a describe block: `copy(name)` makes a writable copy of a fixture folder (`copy(null)` an
 * empty temp folder); all are removed after the block.
 */
export function useFixtureCopies(): (name: string | null) => string {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  return (name) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wj6-${name ?? 'empty'}-`));
    if (name) fs.cpSync(path.join(FIXTURES, name), dir, { recursive: true });
    dirs.push(dir);
    return dir;
  };
}
