/** Commands on documents: insert, open, copy id, delete. */
import * as vscode from 'vscode';
import type { DatabaseRegistry } from '../databases/database-registry';
import type { DocumentEditors } from '../documents/document-editors';
import type { CommandRegistrar } from './register-command';
import { resolveCollection, resolveDocument } from './targets';

export function registerDocumentCommands(commands: CommandRegistrar, registry: DatabaseRegistry, documents: DocumentEditors): void {
  /** Opens a new JSON editor that inserts on save; with `json` text, inserts it at once. */
  commands.register('wisejson.insertDocument', async (arg?: unknown, json?: unknown) => {
    const target = await resolveCollection(registry, arg);
    if (!target) return undefined;
    if (typeof json === 'string') return documents.insertFromText(target.database.id, target.name, json);
    await documents.insertNew(target.database.id, target.name);
    return undefined;
  });

  commands.register('wisejson.openDocument', async (arg?: unknown) => {
    const d = resolveDocument(registry, arg);
    await documents.open(d.database.id, d.collection, d.id, { preview: true });
  });

  commands.register('wisejson.copyDocumentId', async (arg?: unknown) => {
    const d = resolveDocument(registry, arg);
    await vscode.env.clipboard.writeText(d.id);
    vscode.window.setStatusBarMessage(vscode.l10n.t('Copied {0}', d.id), 2000);
    return d.id;
  });

  commands.register('wisejson.deleteDocument', async (arg?: unknown, options?: { confirmed?: boolean }) => {
    const d = resolveDocument(registry, arg);
    if (!options?.confirmed) {
      const del = vscode.l10n.t('Delete');
      const answer = await vscode.window.showWarningMessage(
        vscode.l10n.t('Delete the document "{0}" from {1}?', d.id, d.collection),
        { modal: true, detail: vscode.l10n.t('This cannot be undone; with sync on, the delete reaches the server and the other replicas.') },
        del,
      );
      if (answer !== del) return false;
    }
    const coll = await d.database.db.collection(d.collection);
    return coll.remove(d.id);
  });
}
