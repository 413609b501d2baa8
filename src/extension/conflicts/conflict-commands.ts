/**
 * Resolving sync conflicts: **Open Conflict** shows a field conflict in VS Code's diff editor
 * (left: the document as the losing write wanted it, read-only; right: the current document, an
 * ordinary document editor), and **Resolve Conflict** keeps the current value or takes the other
 * one, writing the document and removing the record in one transaction, which syncs like any
 * write.
 */
import * as vscode from 'vscode';
import type { Doc } from '../../engine';
import { CONFLICTS_COLLECTION, type ConflictRecord } from '../../sync/protocol';
import type { DatabaseRegistry, OpenDatabase } from '../databases/database-registry';
import type { DocumentEditors } from '../documents/document-editors';
import { escapeSegment } from '../documents/document-uri';
import { ConflictNode } from '../tree/database-tree-nodes';
import type { CommandRegistrar } from '../commands/register-command';
import { CommandError } from '../commands/targets';
import { lostValue, userFields } from './conflict-values';

export const CONFLICT_SCHEME = 'wisejson-conflict';

type Choice = 'keep' | 'take';

interface ConflictRef {
  database: OpenDatabase;
  record: ConflictRecord;
}

export function registerConflicts(context: vscode.ExtensionContext, commands: CommandRegistrar, registry: DatabaseRegistry, documents: DocumentEditors): void {
  /** The conflict an argument names: a tree node, or `{ database, conflictId }`. */
  const resolveRef = async (arg: unknown): Promise<ConflictRef> => {
    let database: OpenDatabase | undefined;
    let id: string | undefined;
    if (arg instanceof ConflictNode) {
      database = arg.parent.database;
      id = String(arg.record._id);
    } else if (typeof arg === 'object' && arg !== null && typeof (arg as { database?: unknown }).database === 'string' && typeof (arg as { conflictId?: unknown }).conflictId === 'string') {
      database = registry.get((arg as { database: string }).database);
      id = (arg as { conflictId: string }).conflictId;
    }
    if (!database || id === undefined) throw new CommandError('no_conflict', vscode.l10n.t('Run this on a conflict under Conflicts in the WiseJSON view.'));
    const record = await (await database.db.collection(CONFLICTS_COLLECTION)).getById(id);
    if (!record) throw new CommandError('conflict_gone', vscode.l10n.t('The conflict {0} is no longer open: it was resolved here or on another replica.', id));
    return { database, record: record as unknown as ConflictRecord };
  };

  const current = async (ref: ConflictRef): Promise<Doc | null> => (await ref.database.db.collection(ref.record.coll)).getById(ref.record.docId);

  context.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(CONFLICT_SCHEME, {
    async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
      const q = new URLSearchParams(uri.query);
      const ref = await resolveRef({ database: q.get('db') ?? '', conflictId: q.get('id') ?? '' });
      return JSON.stringify(lostValue(await current(ref), ref.record), null, 2) + '\n';
    },
  }));

  commands.register('wisejson.openConflict', async (arg?: unknown) => {
    const ref = await resolveRef(arg);
    const { record, database } = ref;
    if (record.kind !== 'field') {
      // Deletes against edits, edits of purged documents: the record itself, for now.
      await documents.open(database.id, CONFLICTS_COLLECTION, record._id, { preview: true });
      return undefined;
    }
    const left = vscode.Uri.from({
      scheme: CONFLICT_SCHEME,
      path: `/${escapeSegment(record.coll)}/${escapeSegment(record.docId)}.json`,
      query: new URLSearchParams({ db: database.id, id: record._id }).toString(),
    });
    const right = documents.uriOf(database.id, record.coll, record.docId);
    const fields = Object.keys(record.fields).join(', ');
    await vscode.commands.executeCommand('vscode.diff', left, right, vscode.l10n.t('{0}: the value that lost ↔ now ({1})', record.docId, fields), { preview: true });
    return left;
  });

  commands.register('wisejson.resolveConflict', async (arg?: unknown, choiceArg?: unknown) => {
    const ref = await resolveRef(arg);
    const { database, record } = ref;
    if (database.readOnly) throw new CommandError('read_only', vscode.l10n.t('{0} is open read-only in this untrusted workspace: trust the workspace to resolve conflicts.', database.label));
    let choice = choiceArg === 'keep' || choiceArg === 'take' ? (choiceArg as Choice) : undefined;
    if (!choice) {
      const pick = await vscode.window.showQuickPick([
        { label: vscode.l10n.t('Keep the current value'), description: vscode.l10n.t('the conflict record goes'), choice: 'keep' as const },
        { label: vscode.l10n.t('Take the value that lost'), description: Object.keys(record.fields).join(', '), choice: 'take' as const },
      ], { title: vscode.l10n.t('Resolve the conflict on {0}', record.docId) });
      if (!pick) return undefined;
      choice = pick.choice;
    }
    const now = await current(ref);
    const txn = database.db.beginTransaction();
    if (choice === 'take') {
      const lost = lostValue(now, record);
      const target = txn.collection(record.coll);
      if (lost === null) {
        if (now) await target.remove(record.docId);
      } else if (now) {
        await target.replaceOne({ _id: record.docId }, userFields(lost));
      } else {
        await target.insert({ ...userFields(lost), _id: record.docId });
      }
    }
    await txn.collection(CONFLICTS_COLLECTION).remove(record._id);
    await txn.commit();
    return choice;
  });
}
