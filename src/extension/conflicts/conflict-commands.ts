/**
 * Resolving sync conflicts. **Open Conflict** shows a document's open conflict records (all of
 * them, newest first) in VS Code's diff editor: left, the document as the writes that lost
 * wanted it (read-only); right, the current document (an ordinary document editor), or, when a
 * delete won, a read-only page saying the document is deleted or purged. **Resolve Conflict**
 * keeps the current state, takes what lost (every field or some), restores or recreates a
 * deleted document; saving a merge edited in the diff's right side resolves too. Each writes the
 * document and removes the records in one transaction, which syncs like any write.
 */
import * as vscode from 'vscode';
import type { Doc } from '../../engine';
import { CONFLICTS_COLLECTION, type ConflictRecord } from '../../sync/protocol';
import type { DatabaseRegistry, OpenDatabase } from '../databases/database-registry';
import type { DocumentEditors } from '../documents/document-editors';
import { formatDocument } from '../documents/document-file-system';
import { escapeSegment } from '../documents/document-uri';
import { ConflictNode } from '../tree/database-tree-nodes';
import type { CommandRegistrar } from '../commands/register-command';
import { CommandError } from '../commands/targets';
import { conflictFields, conflictShape, kindsOf, lostValue, newestFirst, userFields, type ConflictField, type ConflictShape } from './conflict-values';

export const CONFLICT_SCHEME = 'wisejson-conflict';

/** A resolution: keep the current state, take every value that lost, or take only some fields. */
type Choice = 'keep' | 'take' | { take: string[] };

/** A document's open conflicts: its records newest first, and its current state. */
interface ConflictSet {
  database: OpenDatabase;
  coll: string;
  docId: string;
  records: ConflictRecord[];
  current: Doc | null;
  fields: ConflictField[];
  shape: ConflictShape;
}

function isRef(arg: unknown): arg is { database: string; conflictId: string } {
  return typeof arg === 'object' && arg !== null && typeof (arg as { database?: unknown }).database === 'string' && typeof (arg as { conflictId?: unknown }).conflictId === 'string';
}

/** A value as one short line (for titles and pick items). */
function preview(side: { value?: unknown; unset?: true; deleted?: true }): string {
  if (side.deleted) return vscode.l10n.t('deleted');
  if (side.unset) return vscode.l10n.t('removed');
  const text = JSON.stringify(side.value) ?? 'undefined';
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

export function registerConflicts(context: vscode.ExtensionContext, commands: CommandRegistrar, registry: DatabaseRegistry, documents: DocumentEditors): void {
  /** The conflict record an argument names: a tree node or `{ database, conflictId }`. */
  const recordOf = async (arg: unknown): Promise<{ database: OpenDatabase; record: ConflictRecord }> => {
    let database: OpenDatabase | undefined;
    let id: string | undefined;
    if (arg instanceof ConflictNode) {
      database = arg.parent.database;
      id = String(arg.record._id);
    } else if (isRef(arg)) {
      database = registry.get(arg.database);
      id = arg.conflictId;
    }
    if (!database || id === undefined) throw new CommandError('no_conflict', vscode.l10n.t('Run this on a conflict under Conflicts in the WiseJSON view, or in a conflict\'s diff editor.'));
    const record = await (await database.db.collection(CONFLICTS_COLLECTION)).getById(id);
    if (!record) throw new CommandError('conflict_gone', vscode.l10n.t('The conflict {0} is no longer open: it was resolved here or on another replica.', id));
    return { database, record: record as unknown as ConflictRecord };
  };

  /** Every open record of one document, newest first, and the document now. */
  const setOf = async (database: OpenDatabase, coll: string, docId: string): Promise<ConflictSet> => {
    const found = await (await database.db.collection(CONFLICTS_COLLECTION)).find({ coll, docId });
    const records = newestFirst(found as unknown as ConflictRecord[]);
    const current = await (await database.db.collection(coll)).getById(docId);
    return { database, coll, docId, records, current, fields: conflictFields(current, records), shape: conflictShape(current, records) };
  };

  /**
   * The open conflicts an argument is about: those of the record a tree node or
   * `{ database, conflictId }` names, or of the document a conflict diff shows (one of its
   * sides' URIs, or the document it has on the right).
   */
  const setFor = async (arg: unknown): Promise<ConflictSet> => {
    const side = arg instanceof vscode.Uri ? (arg.scheme === CONFLICT_SCHEME ? arg : diffOf(arg)?.original) : undefined;
    if (side) {
      const q = new URLSearchParams(side.query);
      const database = registry.get(q.get('db') ?? '');
      const [coll, docId] = [q.get('coll'), q.get('doc')];
      if (!database || coll === null || docId === null) throw new CommandError('no_conflict', vscode.l10n.t('This conflict\'s database is no longer open.'));
      const set = await setOf(database, coll, docId);
      if (set.records.length === 0) throw new CommandError('conflict_gone', vscode.l10n.t('The conflicts of {0} are no longer open: they were resolved here or on another replica.', docId));
      return set;
    }
    const { database, record } = await recordOf(arg);
    return setOf(database, record.coll, record.docId);
  };

  /** Documents being resolved here (a command, a merge's save): not "resolved elsewhere". */
  const resolvingHere = new Set<string>();
  const keyOf = (database: OpenDatabase, coll: string, docId: string): string => JSON.stringify([database.id, coll, docId]);

  /** The open conflict diffs: each tab, its input, and the document it is about (its left side's query). */
  const openDiffs = (): { tab: vscode.Tab; input: vscode.TabInputTextDiff; db: string | null; coll: string | null; doc: string | null }[] =>
    vscode.window.tabGroups.all.flatMap((g) => g.tabs).flatMap((tab) => {
      const input = tab.input;
      if (!(input instanceof vscode.TabInputTextDiff) || input.original.scheme !== CONFLICT_SCHEME) return [];
      const q = new URLSearchParams(input.original.query);
      return [{ tab, input, db: q.get('db'), coll: q.get('coll'), doc: q.get('doc') }];
    });

  /** The conflict diff showing `uri` on its right side, if one is open. */
  const diffOf = (uri: vscode.Uri): vscode.TabInputTextDiff | undefined => openDiffs().find((d) => d.input.modified.toString() === uri.toString())?.input;

  const sideUri = (set: ConflictSet, side: 'lost' | 'now'): vscode.Uri => vscode.Uri.from({
    scheme: CONFLICT_SCHEME,
    path: side === 'lost' ? `/${escapeSegment(set.coll)}/${escapeSegment(set.docId)}.json` : `/${escapeSegment(set.coll)}/${escapeSegment(set.docId)} (${set.shape}).jsonc`,
    query: new URLSearchParams({ db: set.database.id, coll: set.coll, doc: set.docId, side }).toString(),
  });

  /** The right side when a delete won: what happened, and what the actions do. */
  const deletedPage = (set: ConflictSet): string => {
    const kinds = kindsOf(set.records);
    const lines = [
      set.shape === 'purged'
        ? vscode.l10n.t('{0} was deleted, and its deletion purged (older than the sync server keeps deletions), before an edit to it arrived: the edit could not apply.', set.docId)
        : kinds.includes('delete_vs_update')
          ? vscode.l10n.t('{0} was deleted on a replica that had not seen an edit made elsewhere: the delete won.', set.docId)
          : vscode.l10n.t('{0} was edited on a replica that had not seen its deletion: the delete won.', set.docId),
      vscode.l10n.t('Left: the values that edit wrote ({0}).', set.fields.map((f) => f.field).join(', ')),
      set.shape === 'purged'
        ? vscode.l10n.t('Resolve Conflict: Recreate it with those values, or Keep it purged (the record goes).')
        : vscode.l10n.t('Resolve Conflict: Restore it with those values, or Keep it deleted (the record goes).'),
    ];
    return lines.map((l) => `// ${l}`).join('\n') + '\n';
  };

  const sidesChanged = new vscode.EventEmitter<vscode.Uri>();
  context.subscriptions.push(sidesChanged, vscode.workspace.registerTextDocumentContentProvider(CONFLICT_SCHEME, {
    onDidChange: sidesChanged.event,
    async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
      const set = await setFor(uri);
      if (new URLSearchParams(uri.query).get('side') === 'now') return deletedPage(set);
      // As the document editor on the right shows a document (without `_v`), so only what lost differs.
      const lost = lostValue(set.current, set.docId, set.fields);
      return lost === null ? vscode.l10n.t('// The write that lost deleted {0}.', set.docId) + '\n' : formatDocument(lost as Doc);
    },
  }));

  // The diff's title bar offers Resolve Conflict while a conflict's diff is the active editor.
  const updateContext = (): void => {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    void vscode.commands.executeCommand('setContext', 'wisejson.conflictDiff', input instanceof vscode.TabInputTextDiff && input.original.scheme === CONFLICT_SCHEME);
  };
  context.subscriptions.push(vscode.window.tabGroups.onDidChangeTabs(updateContext), vscode.window.tabGroups.onDidChangeTabGroups(updateContext));

  /** Closes the conflict diffs of a resolved document (not one with unsaved edits on its right). */
  const closeDiffs = async (set: ConflictSet): Promise<void> => {
    const dirty = new Set(vscode.workspace.textDocuments.filter((d) => d.isDirty).map((d) => d.uri.toString()));
    const tabs = openDiffs()
      .filter((d) => d.db === set.database.id && d.coll === set.coll && d.doc === set.docId && !dirty.has(d.input.modified.toString()))
      .map((d) => d.tab);
    if (tabs.length > 0) await vscode.window.tabGroups.close(tabs, true);
  };

  // Saving a merge edited in a conflict diff's right side resolves the document's records with
  // it; once VS Code has the save, the diff gives way to the document's own editor.
  const mergedBySave = new Map<string, ConflictSet>();
  context.subscriptions.push(documents.fileSystem.setSaveCompanion(async (uri, database, ref) => {
    if (!diffOf(uri)) return undefined;
    const set = await setOf(database, ref.collection, ref.id);
    if (set.records.length === 0) return undefined;
    mergedBySave.set(uri.toString(), set);
    resolvingHere.add(keyOf(database, set.coll, set.docId));
    return async (txn) => {
      for (const r of set.records) await txn.collection(CONFLICTS_COLLECTION).remove(r._id);
    };
  }), vscode.workspace.onDidSaveTextDocument(async (doc) => {
    const set = mergedBySave.get(doc.uri.toString());
    if (!set) return;
    mergedBySave.delete(doc.uri.toString());
    resolvingHere.delete(keyOf(set.database, set.coll, set.docId));
    await closeDiffs(set);
    // The document's own editor in the diff's place (unless the window moved on meanwhile).
    await documents.open(set.database.id, set.coll, set.docId, { preview: true }).catch(() => undefined);
    vscode.window.setStatusBarMessage(vscode.l10n.t('The conflict on {0} is resolved with the merge you saved.', set.docId), 5000);
  }));

  // A record resolved elsewhere (another replica, a script): an open diff whose document has no
  // open record left closes; one that still has some shows them as they are now.
  context.subscriptions.push(registry.onDidChangeData(async (change) => {
    if (change.collection !== CONFLICTS_COLLECTION || change.kind === 'insert') return;
    for (const { input, db, coll, doc } of openDiffs()) {
      if (db !== change.database.id || coll === null || doc === null || resolvingHere.has(keyOf(change.database, coll, doc))) continue;
      const set = await setOf(change.database, coll, doc);
      if (set.records.length === 0) {
        await closeDiffs(set);
        vscode.window.setStatusBarMessage(vscode.l10n.t('The conflict on {0} was resolved elsewhere.', set.docId), 5000);
      } else {
        sidesChanged.fire(input.original);
        if (input.modified.scheme === CONFLICT_SCHEME) sidesChanged.fire(input.modified);
      }
    }
  }));

  commands.register('wisejson.openConflict', async (arg?: unknown) => {
    const set = await setFor(arg);
    const left = sideUri(set, 'lost');
    const right = set.shape === 'field' ? documents.uriOf(set.database.id, set.coll, set.docId) : sideUri(set, 'now');
    const what = set.fields.map((f) => f.field).join(', ');
    let title = set.shape === 'field'
      ? vscode.l10n.t('{0}: the value that lost ↔ now ({1})', set.docId, what)
      : vscode.l10n.t('{0}: the edit that lost ↔ {1}', set.docId, set.shape === 'purged' ? vscode.l10n.t('purged') : vscode.l10n.t('deleted'));
    if (set.records.length > 1) title += ' · ' + vscode.l10n.t('{0} conflicts, newest first', set.records.length);
    if (set.shape === 'field' && set.fields.some((f) => f.changedSince)) title += ' · ' + vscode.l10n.t('changed since');
    await vscode.commands.executeCommand('vscode.diff', left, right, title, { preview: true });
    return left;
  });

  /** Asks how to resolve: keep or take (some fields, when there are several), restore or not. */
  const ask = async (set: ConflictSet): Promise<Choice | undefined> => {
    type Item = vscode.QuickPickItem & { choice?: Choice; some?: true };
    const changed = set.fields.filter((f) => f.changedSince).map((f) => f.field);
    const since = changed.length > 0 ? vscode.l10n.t('{0} changed after the conflict', changed.join(', ')) : undefined;
    const items: Item[] = set.shape === 'field'
      ? [
        { label: vscode.l10n.t('Keep the current value'), description: vscode.l10n.t('the conflict record goes'), choice: 'keep' },
        { label: vscode.l10n.t('Take the value that lost'), description: set.fields.map((f) => `${f.field}: ${preview(f.loser)}`).join(', '), detail: since, choice: 'take' },
        ...(set.fields.length > 1 ? [{ label: vscode.l10n.t('Take some fields…'), description: vscode.l10n.t('the others keep the current value'), some: true as const }] : []),
      ]
      : [
        set.shape === 'purged'
          ? { label: vscode.l10n.t('Recreate it with the edit\'s values'), description: set.fields.map((f) => f.field).join(', '), choice: 'take' as const }
          : { label: vscode.l10n.t('Restore it with the edit\'s values'), description: set.fields.map((f) => f.field).join(', '), choice: 'take' as const },
        { label: set.shape === 'purged' ? vscode.l10n.t('Keep it purged') : vscode.l10n.t('Keep it deleted'), description: vscode.l10n.t('the conflict record goes'), choice: 'keep' as const },
      ];
    const title = set.records.length > 1 ? vscode.l10n.t('Resolve {0} conflicts on {1}', set.records.length, set.docId) : vscode.l10n.t('Resolve the conflict on {0}', set.docId);
    const pick = await vscode.window.showQuickPick(items, { title });
    if (!pick) return undefined;
    if (!pick.some) return pick.choice;
    const fields = await vscode.window.showQuickPick(
      set.fields.map((f) => ({ label: f.field, description: `${preview(f.loser)} ← ${preview(f.winner)}`, detail: f.changedSince ? vscode.l10n.t('changed after the conflict') : undefined, field: f.field })),
      { title: vscode.l10n.t('Take the checked fields\' values that lost; the others keep the current value'), canPickMany: true },
    );
    return fields ? { take: fields.map((f) => f.field) } : undefined;
  };

  commands.register('wisejson.resolveConflict', async (arg?: unknown, choiceArg?: unknown) => {
    const set = await setFor(arg);
    const { database } = set;
    if (database.readOnly) throw new CommandError('read_only', vscode.l10n.t('{0} is open read-only in this untrusted workspace: trust the workspace to resolve conflicts.', database.label));
    const given = choiceArg === 'keep' || choiceArg === 'take' ? choiceArg
      : typeof choiceArg === 'object' && choiceArg !== null && Array.isArray((choiceArg as { take?: unknown }).take) ? { take: (choiceArg as { take: unknown[] }).take.map(String) } : undefined;
    const choice = given ?? await ask(set);
    if (!choice) return undefined;
    const take = choice === 'keep' ? new Set<string>() : choice === 'take' ? undefined : new Set(choice.take);
    const unknown = take ? [...take].filter((f) => !set.fields.some((c) => c.field === f)) : [];
    if (unknown.length > 0) throw new CommandError('no_such_field', vscode.l10n.t('{0} is not a field of this conflict; its fields are {1}.', unknown.join(', '), set.fields.map((f) => f.field).join(', ')));

    const key = keyOf(database, set.coll, set.docId);
    resolvingHere.add(key);
    try {
      await writeResolution(set, take);
      await closeDiffs(set);
    } finally {
      resolvingHere.delete(key);
    }
    return choice === 'keep' || take?.size === 0 ? 'keep' : 'take';
  });

  /** Writes the document as resolved (taking the fields in `take`, all when omitted) and removes its records, in one transaction. */
  async function writeResolution(set: ConflictSet, take: ReadonlySet<string> | undefined): Promise<void> {
    const txn = set.database.db.beginTransaction();
    if (take === undefined || take.size > 0) {
      const value = lostValue(set.current, set.docId, set.fields, take);
      const target = txn.collection(set.coll);
      if (value === null) {
        if (set.current) await target.remove(set.docId);
      } else if (set.current) {
        await target.replaceOne({ _id: set.docId }, userFields(value));
      } else {
        await target.insert({ ...userFields(value), _id: set.docId });
      }
    }
    for (const r of set.records) await txn.collection(CONFLICTS_COLLECTION).remove(r._id);
    await txn.commit();
  }
}
