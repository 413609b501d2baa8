/**
 * What the extension may do with a database folder a setting names, given workspace trust
 * (no vscode import, so it is tested in plain Node):
 *  - trusted workspace: open it for writing, wherever it is;
 *  - untrusted workspace (Restricted Mode): a folder inside the workspace folder, after
 *    resolving symlinks, is opened read-only (nothing written to it, no lock file, no upgrade);
 *    any other folder is not opened at all and is listed as needing trust, with the reason.
 * A committed `.vscode/settings.json` can name any path; without trust it must not make the
 * extension write outside the workspace (or anywhere).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type FolderAccess =
  | { kind: 'write' }
  | { kind: 'read-only' }
  | { kind: 'needs-trust'; reason: string };

/** The real path of `p` (symlinks resolved); a path that does not exist is only normalized. */
function real(p: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return path.resolve(p);
  }
}

/** Whether `dir` is `root` or below it (both already real, absolute paths). */
export function isInside(root: string, dir: string): boolean {
  const rel = path.relative(root, dir);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

export function folderAccess(workspaceFolder: string, dir: string, trusted: boolean): FolderAccess {
  if (trusted) return { kind: 'write' };
  const realDir = real(dir);
  if (isInside(real(workspaceFolder), realDir)) return { kind: 'read-only' };
  const resolves = realDir !== path.resolve(dir) ? ` (it resolves to ${realDir})` : '';
  return {
    kind: 'needs-trust',
    reason: `${path.resolve(dir)}${resolves} is outside the workspace folder; in Restricted Mode only databases inside it are shown, read-only. Trust the workspace to open it.`,
  };
}
