/**
 * What the extension says after opening a WiseJSON 6 folder upgraded it (a notification and the
 * log). No `vscode` import, so it is unit-tested on its own.
 */
import * as path from 'node:path';
import type { UpgradeReport } from '../../engine';

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** One sentence set for the notification; `dir` is the database folder, `label` its name in the tree. */
export function upgradeMessage(label: string, dir: string, r: UpgradeReport): string {
  const parts = [
    `Upgraded the WiseJSON 6 database ${label}: ${plural(r.collections, 'collection')}, ${plural(r.documents, 'document')}, ${plural(r.indexes, 'index', 'indexes')}.`,
  ];
  if (r.renamedIds > 0) parts.push(`${plural(r.renamedIds, 'numeric _id')} became ${r.renamedIds === 1 ? 'a string' : 'strings'}.`);
  if (r.expired > 0) parts.push(`${plural(r.expired, 'expired document')} left out.`);
  if (r.skipped.files.length > 0) {
    parts.push(`Damaged, skipped: ${plural(r.skipped.files.length, 'file')} (${plural(r.skipped.documents, 'document')}, ${plural(r.skipped.walLines, 'log line')}).`);
  }
  if (r.problems.length > 0) parts.push(`Not carried over: ${plural(r.problems.length, 'item')} (listed in the WiseJSON log).`);
  parts.push(`The old files are in ${path.relative(dir, r.backup) || r.backup}, which WiseJSON 6 can still open.`);
  return parts.join(' ');
}

/** Whether the upgrade left something behind (the notification is then a warning). */
export function upgradeLeftSomethingOut(r: UpgradeReport): boolean {
  return r.problems.length > 0 || r.skipped.files.length > 0;
}
