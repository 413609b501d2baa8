/**
 * The Databases view's data: renders the registry's databases, pages through collections with a
 * keyset cursor (never reading a whole collection), and refreshes only the nodes a change touches.
 */
import * as vscode from 'vscode';
import { CONFLICTS_COLLECTION } from '../../sync/protocol';
import type { Doc } from '../../engine';
import type { DataChange, DatabaseRegistry, OpenDatabase } from '../databases/database-registry';
import { CollectionFilter, CollectionNode, ConflictNode, ConflictsNode, DatabaseNode, DocumentNode, documentSummary, documentTitle, FolderNode, IndexesNode, IndexNode, LoadMoreNode, MessageNode, SchemaFieldNode, SchemaNode, TreeNode } from './database-tree-nodes';
import { childFields, SAMPLE_SIZE, type FieldSample } from '../schema/field-sample';
import type { FieldSamples } from '../schema/field-samples';
import { newestFirst, type ConflictRecordLike } from '../conflicts/conflict-values';

/** Changes arriving within this many ms are refreshed together. */
const REFRESH_DEBOUNCE_MS = 150;

export class DatabaseTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly folders = new Map<string, FolderNode>();
  private readonly databases = new Map<string, DatabaseNode>();
  private readonly collections = new Map<string, CollectionNode>();
  private readonly indexNodes = new WeakMap<CollectionNode, IndexesNode>();
  private readonly schemaNodes = new WeakMap<CollectionNode, SchemaNode>();
  private readonly conflictsChanged = new vscode.EventEmitter<void>();
  /** A conflict record was added or removed in some database. */
  readonly onDidChangeConflicts = this.conflictsChanged.event;
  private readonly disposables: vscode.Disposable[] = [];
  private pendingNodes = new Set<TreeNode>();
  private pendingTimer: NodeJS.Timeout | undefined;

  constructor(private readonly registry: DatabaseRegistry, private readonly samples: FieldSamples) {
    this.disposables.push(
      this.changed,
      this.conflictsChanged,
      // A shown Schema node whose sample was dropped (its collection changed) samples again.
      samples.onDidDrop(({ database, collection }) => {
        const coll = this.collections.get(collectionKey(database, collection));
        const schema = coll && this.schemaNodes.get(coll);
        if (schema) this.schedule(schema);
      }),
      registry.onDidChangeDatabases(() => {
        this.refresh();
        this.conflictsChanged.fire();
      }),
      registry.onDidChangeData((c) => this.onData(c)),
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('wisejson.pageSize')) this.refresh(); }),
    );
  }

  private get pageSize(): number {
    const n = vscode.workspace.getConfiguration('wisejson').get<number>('pageSize', 100);
    return Number.isInteger(n) && n > 0 ? Math.min(n, 5000) : 100;
  }

  /** Refreshes one node (and what is below it), or everything. */
  refresh(node?: TreeNode): void {
    if (!node) {
      for (const c of this.collections.values()) c.loaded = false;
      this.changed.fire(undefined);
      return;
    }
    if (node instanceof CollectionNode) node.loaded = false;
    this.changed.fire(node);
  }

  private onData(change: DataChange): void {
    const dbNode = this.databases.get(change.database.id);
    if (!dbNode) return;
    if (change.collection === CONFLICTS_COLLECTION) {
      // A conflict recorded or resolved: the collections' Conflicts nodes and the badge change.
      this.schedule(dbNode);
      this.conflictsChanged.fire();
      return;
    }
    if (change.kind === 'collection-created' || change.kind === 'collection-dropped') {
      this.schedule(dbNode);
      return;
    }
    const coll = this.collections.get(collectionKey(change.database, change.collection));
    if (!coll) {
      this.schedule(dbNode); // a collection the tree has not shown yet
      return;
    }
    if (change.kind === 'update' && change.id !== undefined) {
      const doc = coll.documents.find((d) => d.documentId === change.id);
      if (doc && !coll.filter) {
        this.schedule(doc);
        return;
      }
      if (!doc && !coll.filter) return; // not loaded: nothing on screen changes
    }
    this.schedule(coll);
  }

  private schedule(node: TreeNode): void {
    this.pendingNodes.add(node);
    this.pendingTimer ??= setTimeout(() => {
      this.pendingTimer = undefined;
      const nodes = [...this.pendingNodes];
      this.pendingNodes = new Set();
      for (const n of nodes) {
        // A node under another one being refreshed comes along with it.
        if (nodes.some((other) => other !== n && isAncestor(other, n))) continue;
        void this.refreshNode(n);
      }
    }, REFRESH_DEBOUNCE_MS);
  }

  private async refreshNode(node: TreeNode): Promise<void> {
    if (node instanceof DocumentNode) {
      const fresh = await (await node.parent.database.db.collection(node.parent.name)).getById(node.documentId);
      if (!fresh) return this.refresh(node.parent);
      node.doc = fresh;
    }
    this.refresh(node);
  }

  getParent(node: TreeNode): TreeNode | undefined {
    return node.parent;
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (!node) return this.rootChildren();
    if (node instanceof FolderNode) return this.folderChildren(node);
    if (node instanceof DatabaseNode) return this.databaseChildren(node);
    if (node instanceof CollectionNode) return this.collectionChildren(node);
    if (node instanceof IndexesNode) return this.indexChildren(node);
    if (node instanceof ConflictsNode) return this.conflictChildren(node);
    if (node instanceof SchemaNode || node instanceof SchemaFieldNode) return this.schemaChildren(node);
    return [];
  }

  private rootChildren(): TreeNode[] {
    const out: FolderNode[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      if (this.registry.ofFolder(folder).length === 0 && this.registry.failures(folder).length === 0) continue;
      const key = folder.uri.toString();
      let n = this.folders.get(key);
      if (!n || n.folder !== folder) this.folders.set(key, (n = new FolderNode(folder)));
      out.push(n);
    }
    void vscode.commands.executeCommand('setContext', 'wisejson.hasDatabases', this.registry.list().length > 0);
    return out;
  }

  private folderChildren(node: FolderNode): TreeNode[] {
    const out: TreeNode[] = [];
    for (const database of this.registry.ofFolder(node.folder)) {
      let n = this.databases.get(database.id);
      if (!n || n.database !== database) {
        this.databases.set(database.id, (n = new DatabaseNode(node, database)));
        for (const [k, c] of this.collections) if (c.database.id === database.id) this.collections.delete(k);
      }
      out.push(n);
    }
    for (const f of this.registry.failures(node.folder)) {
      out.push(f.kind === 'needs-trust'
        ? new MessageNode(node, f.setting, vscode.l10n.t('{0}: needs workspace trust', f.setting), 'shield', f.reason)
        : new MessageNode(node, f.setting, vscode.l10n.t('{0}: could not open', f.setting), 'error', f.reason));
    }
    return out;
  }

  private async databaseChildren(node: DatabaseNode): Promise<TreeNode[]> {
    const names: string[] = [];
    for (const name of (await node.database.db.getCollectionNames()).sort()) {
      // Sync's conflict records show only when there are some.
      if (name === CONFLICTS_COLLECTION && (await (await node.database.db.collection(name)).count()) === 0) continue;
      names.push(name);
    }
    if (names.length === 0) return [new MessageNode(node, 'empty', vscode.l10n.t('No collections yet'), 'info')];
    return names.map((name) => {
      const key = collectionKey(node.database, name);
      let c = this.collections.get(key);
      if (!c) this.collections.set(key, (c = new CollectionNode(node, name)));
      return c;
    });
  }

  private async collectionChildren(node: CollectionNode): Promise<TreeNode[]> {
    if (!node.loaded) await this.reload(node);
    const out: TreeNode[] = [...node.documents];
    if (node.next !== null) out.push(new LoadMoreNode(node));
    if (out.length === 0) out.push(new MessageNode(node, 'empty', node.filter ? vscode.l10n.t('No document matches the filter') : vscode.l10n.t('No documents'), 'info'));
    const conflicts = await openConflicts(node.database, node.name);
    if (conflicts > 0) out.push(new ConflictsNode(node, conflicts));
    out.push(this.indexesOf(node), this.schemaOf(node));
    return out;
  }

  /** The collection's conflict records, newest first. */
  private async conflictChildren(node: ConflictsNode): Promise<TreeNode[]> {
    const records = await (await node.database.db.collection(CONFLICTS_COLLECTION)).find({ coll: node.parent.name });
    // In the order the conflict diff shows them (by the server's time, then the version).
    return newestFirst(records as (Doc & ConflictRecordLike)[]).map((r) => new ConflictNode(node, r));
  }

  /** Open conflict records in every open database (the view's badge). */
  async conflictCount(): Promise<number> {
    let n = 0;
    for (const d of this.registry.list()) n += await openConflicts(d);
    return n;
  }

  /** The collection's Indexes node (one per collection node, so its expansion is kept). */
  private indexesOf(node: CollectionNode): IndexesNode {
    let n = this.indexNodes.get(node);
    if (!n) this.indexNodes.set(node, (n = new IndexesNode(node)));
    return n;
  }

  /** The collection's Schema node (one per collection node, so its expansion and sample are kept). */
  private schemaOf(node: CollectionNode): SchemaNode {
    let n = this.schemaNodes.get(node);
    if (!n) this.schemaNodes.set(node, (n = new SchemaNode(node)));
    return n;
  }

  /** The sample a Schema node shows (taken again after the collection changed). */
  private sampleOf(node: SchemaNode): Promise<FieldSample> {
    return this.samples.of(node.database, node.parent.name);
  }

  private async schemaChildren(node: SchemaNode | SchemaFieldNode): Promise<TreeNode[]> {
    const schema = node instanceof SchemaNode ? node : node.schema;
    const { fields, sampled } = await this.sampleOf(schema);
    if (sampled === 0) return [new MessageNode(node, 'empty', vscode.l10n.t('No documents to sample'), 'info')];
    return childFields(fields, node instanceof SchemaFieldNode ? node.field.path : undefined).map((f) => new SchemaFieldNode(node, f, sampled));
  }

  private async indexChildren(node: IndexesNode): Promise<TreeNode[]> {
    const indexes = await (await node.database.db.collection(node.parent.name)).getIndexes();
    if (indexes.length === 0) return [new MessageNode(node, 'empty', vscode.l10n.t('No indexes: queries scan the collection'), 'info')];
    return indexes.map((i) => new IndexNode(node, i.fieldName, i.type === 'unique'));
  }

  /** Shows a collection's indexes again (after Create Index or Drop Index in this window). */
  async refreshIndexes(database: OpenDatabase, collection: string): Promise<void> {
    const node = this.collections.get(collectionKey(database, collection));
    if (node) this.changed.fire(this.indexesOf(node));
  }

  /** Reloads a collection's pages, as many documents as were shown before (at least a page). */
  private async reload(node: CollectionNode): Promise<void> {
    const want = Math.max(this.pageSize, node.documents.length);
    const coll = await node.database.db.collection(node.name);
    const page = await coll.page({ limit: want, query: node.filter?.query });
    node.documents = page.docs.map((d) => new DocumentNode(node, d));
    node.next = page.next;
    node.loaded = true;
  }

  /** Appends the next page to a collection ("Load more"). */
  async loadMore(node: CollectionNode): Promise<void> {
    if (!node.loaded) await this.reload(node);
    if (node.next === null) return;
    const coll = await node.database.db.collection(node.name);
    const page = await coll.page({ after: node.next, limit: this.pageSize, query: node.filter?.query });
    node.documents.push(...page.docs.map((d) => new DocumentNode(node, d)));
    node.next = page.next;
    this.changed.fire(node);
  }

  setFilter(node: CollectionNode, filter: CollectionFilter | null): void {
    node.filter = filter;
    node.documents = [];
    this.refresh(node);
  }

  /**
   * The node of a document, loading pages until it is in view (for `reveal` after an insert);
   * undefined when the document does not exist or is past `maxPages` more pages.
   */
  async findDocument(database: OpenDatabase, collection: string, id: string, maxPages = 50): Promise<DocumentNode | undefined> {
    const node = await this.findCollection(database, collection);
    if (!node) return undefined;
    if (!node.loaded) await this.reload(node);
    for (let i = 0; ; i++) {
      const found = node.documents.find((d) => d.documentId === id);
      if (found) return found;
      if (node.next === null || node.next > id || i >= maxPages) {
        // Loaded past where it would sort (or it matches no filter): reload to pick it up.
        if (i === 0 && node.next !== null && node.next > id) {
          await this.reload(node);
          this.changed.fire(node);
          continue;
        }
        return undefined;
      }
      await this.loadMore(node);
    }
  }

  /** The node of a collection (creating the nodes above it when needed). */
  async findCollection(database: OpenDatabase, collection: string): Promise<CollectionNode | undefined> {
    const folder = this.rootChildren().find((f) => f instanceof FolderNode && f.folder.uri.toString() === database.folder.uri.toString());
    if (!folder) return undefined;
    const dbNode = this.folderChildren(folder as FolderNode).find((n): n is DatabaseNode => n instanceof DatabaseNode && n.database.id === database.id);
    if (!dbNode) return undefined;
    return (await this.databaseChildren(dbNode)).find((n): n is CollectionNode => n instanceof CollectionNode && n.name === collection);
  }

  async getTreeItem(node: TreeNode): Promise<vscode.TreeItem> {
    const item = await this.treeItem(node);
    // VS Code reads a plain-text tooltip as the row's accessible name in place of its label:
    // a screen reader would hear the explanation and never "Conflicts (2)". Name it by what it shows.
    if (typeof item.tooltip === 'string' && item.accessibilityInformation === undefined) {
      const label = typeof item.label === 'string' ? item.label : item.label?.label ?? '';
      item.accessibilityInformation = { label: typeof item.description === 'string' && item.description !== '' ? `${label}, ${item.description}` : label };
    }
    return item;
  }

  private async treeItem(node: TreeNode): Promise<vscode.TreeItem> {
    if (node instanceof FolderNode) {
      const item = new vscode.TreeItem(node.folder.name, vscode.TreeItemCollapsibleState.Expanded);
      item.id = node.id;
      item.iconPath = vscode.ThemeIcon.Folder;
      item.resourceUri = node.folder.uri;
      item.contextValue = 'folder';
      return item;
    }
    if (node instanceof DatabaseNode) {
      const item = new vscode.TreeItem(node.database.label, vscode.TreeItemCollapsibleState.Expanded);
      item.id = node.id;
      item.iconPath = new vscode.ThemeIcon('database');
      item.tooltip = node.database.id;
      item.contextValue = 'database';
      const sync = node.database.db.getSyncStatus();
      if (sync) item.description = vscode.l10n.t('sync: {0}', sync.dataset ?? '');
      if (node.database.readOnly) {
        item.description = vscode.l10n.t('read-only (workspace not trusted)');
        item.iconPath = new vscode.ThemeIcon('lock');
      }
      return item;
    }
    if (node instanceof CollectionNode) {
      const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = node.id;
      const coll = await node.database.db.collection(node.name);
      const total = await coll.count();
      if (node.filter) {
        const matching = await coll.count(node.filter.query);
        item.description = vscode.l10n.t('{0} of {1} · filter: {2}', matching, total, node.filter.text);
        item.iconPath = new vscode.ThemeIcon('filter');
        item.contextValue = 'collection.filtered';
      } else {
        item.description = total === 1 ? vscode.l10n.t('1 document') : vscode.l10n.t('{0} documents', total);
        item.iconPath = new vscode.ThemeIcon(node.name === '_conflicts' ? 'warning' : 'json');
        item.contextValue = 'collection';
      }
      item.tooltip = new vscode.MarkdownString(`**${node.name}** — ${item.description}`);
      return item;
    }
    if (node instanceof DocumentNode) {
      // A named document shows its name with the id beside it; others their id and fields.
      const title = documentTitle(node.doc);
      const item = new vscode.TreeItem(title ?? node.documentId, vscode.TreeItemCollapsibleState.None);
      item.id = node.id;
      item.description = title !== undefined ? node.documentId : documentSummary(node.doc);
      item.iconPath = new vscode.ThemeIcon('file-code');
      item.contextValue = 'document';
      const json = JSON.stringify(node.doc, null, 2);
      item.tooltip = new vscode.MarkdownString().appendCodeblock(json.length > 2000 ? `${json.slice(0, 2000)}\n…` : json, 'json');
      item.command = { command: 'wisejson.openDocument', title: vscode.l10n.t('Open Document'), arguments: [node] };
      return item;
    }
    if (node instanceof ConflictsNode) {
      const item = new vscode.TreeItem(vscode.l10n.t('Conflicts ({0})', node.count), vscode.TreeItemCollapsibleState.Collapsed);
      item.id = node.id;
      item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
      item.tooltip = vscode.l10n.t('{0} value(s) of {1} lost to a concurrent write on another replica; each is kept here until resolved.', node.count, node.parent.name);
      item.contextValue = 'conflicts';
      return item;
    }
    if (node instanceof ConflictNode) {
      const r = node.record;
      const fields = r.fields !== null && typeof r.fields === 'object' ? Object.keys(r.fields) : [];
      const item = new vscode.TreeItem(String(r.docId), vscode.TreeItemCollapsibleState.None);
      item.id = node.id;
      item.iconPath = new vscode.ThemeIcon('git-compare');
      item.description = `${conflictKindText(String(r.kind), fields)} · ${typeof r.serverTime === 'number' ? new Date(r.serverTime).toLocaleString() : ''}`;
      item.tooltip = new vscode.MarkdownString().appendCodeblock(JSON.stringify(r, null, 2).slice(0, 2000), 'json');
      item.contextValue = 'conflict';
      item.command = { command: 'wisejson.openConflict', title: vscode.l10n.t('Open Conflict'), arguments: [node] };
      return item;
    }
    if (node instanceof IndexesNode) {
      const count = (await (await node.database.db.collection(node.parent.name)).getIndexes()).length;
      const item = new vscode.TreeItem(vscode.l10n.t('Indexes'), vscode.TreeItemCollapsibleState.Collapsed);
      item.id = node.id;
      item.iconPath = new vscode.ThemeIcon('list-ordered');
      item.description = String(count);
      item.contextValue = 'indexes';
      return item;
    }
    if (node instanceof IndexNode) {
      const item = new vscode.TreeItem(node.fieldName, vscode.TreeItemCollapsibleState.None);
      item.id = node.id;
      item.iconPath = new vscode.ThemeIcon(node.unique ? 'key' : 'symbol-field');
      item.description = node.unique ? vscode.l10n.t('unique') : vscode.l10n.t('standard');
      item.tooltip = node.unique
        ? vscode.l10n.t('A unique index on {0}: queries on it are fast, and two documents cannot hold the same value.', node.fieldName)
        : vscode.l10n.t('An index on {0}: equality, $in and range queries on it read only the matching documents.', node.fieldName);
      item.contextValue = 'index';
      return item;
    }
    if (node instanceof SchemaNode) {
      const item = new vscode.TreeItem(vscode.l10n.t('Schema'), vscode.TreeItemCollapsibleState.Collapsed);
      item.id = node.id;
      item.iconPath = new vscode.ThemeIcon('symbol-structure');
      item.tooltip = vscode.l10n.t('The fields of the first {0} documents of {1} (a sample), with their types and how often each occurs; sampled again when the collection changes.', SAMPLE_SIZE, node.parent.name);
      item.contextValue = 'schema';
      return item;
    }
    if (node instanceof SchemaFieldNode) {
      const { field, sampled } = node;
      const nested = field.types.includes('object') && childFields((await this.sampleOf(node.schema)).fields, field.path).length > 0;
      const item = new vscode.TreeItem(node.name, nested ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
      item.id = node.id;
      item.iconPath = new vscode.ThemeIcon(field.types.length === 1 ? TYPE_ICONS[field.types[0]] ?? 'symbol-field' : 'symbol-field');
      item.description = `${Object.keys(field.typeCounts).join(' | ')} · ${percent(field.count, sampled)}`;
      item.tooltip = vscode.l10n.t('{0}: in {1} of {2} sampled documents ({3}); {4}', field.path, field.count, sampled, percent(field.count, sampled),
        Object.entries(field.typeCounts).map(([t, n]) => `${t} ${n}`).join(', '));
      item.contextValue = 'schemaField';
      return item;
    }
    if (node instanceof LoadMoreNode) {
      const item = new vscode.TreeItem(vscode.l10n.t('Load more…'), vscode.TreeItemCollapsibleState.None);
      item.id = node.id;
      item.iconPath = new vscode.ThemeIcon('more');
      item.description = vscode.l10n.t('{0} shown', node.parent.documents.length);
      item.contextValue = 'loadMore';
      item.command = { command: 'wisejson.loadMore', title: vscode.l10n.t('Load More'), arguments: [node] };
      return item;
    }
    const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.iconPath = new vscode.ThemeIcon(node.icon);
    item.tooltip = node.tooltip;
    item.contextValue = 'message';
    return item;
  }

  dispose(): void {
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    for (const d of this.disposables) d.dispose();
  }
}

/** How many conflict records the database holds (for one collection, or all). */
async function openConflicts(database: OpenDatabase, collection?: string): Promise<number> {
  if (!(await database.db.getCollectionNames()).includes(CONFLICTS_COLLECTION)) return 0;
  return (await database.db.collection(CONFLICTS_COLLECTION)).count(collection === undefined ? {} : { coll: collection });
}

function conflictKindText(kind: string, fields: string[]): string {
  switch (kind) {
    case 'field':
      return vscode.l10n.t('field {0}', fields.join(', '));
    case 'update_vs_delete':
      return vscode.l10n.t('edited here, deleted elsewhere');
    case 'delete_vs_update':
      return vscode.l10n.t('deleted here, edited elsewhere');
    case 'update_of_purged':
      return vscode.l10n.t('edit of a purged document');
    default:
      return kind;
  }
}

function collectionKey(database: OpenDatabase, name: string): string {
  return `${database.id}\u0000${name}`;
}

/** The icon of a field of one JSON type. */
const TYPE_ICONS: Record<string, string> = {
  string: 'symbol-string', number: 'symbol-number', boolean: 'symbol-boolean', null: 'symbol-null', object: 'symbol-object', array: 'symbol-array',
};

/** `n` of `total` as a whole percentage ("100 %" only when all). */
function percent(n: number, total: number): string {
  const p = (n / total) * 100;
  return `${n === total ? 100 : Math.min(99, Math.max(1, Math.round(p)))} %`;
}

function isAncestor(a: TreeNode, b: TreeNode): boolean {
  for (let p = b.parent; p; p = p.parent) if (p === a) return true;
  return false;
}
