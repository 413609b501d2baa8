/**
 * Documents as files: the `wisejson:` file system behind the document editors (URIs: see
 * ./document-uri). A document reads as pretty JSON; saving an editor replaces the document
 * through the engine, or inserts it for a new-document editor. Writes from anywhere (this window,
 * other processes, sync) become file change events, which is how VS Code reloads a clean editor
 * and offers the save conflict to a dirty one.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parse as parseJsonc, ParseErrorCode, type ParseError } from 'jsonc-parser';
import type { DatabaseRegistry, DataChange, OpenDatabase } from '../databases/database-registry';
import type { Collection, Doc, Transaction } from '../../engine';
import { WiseJSONError } from '../../engine/errors';
import { DOCUMENT_SCHEME, DocumentRef, NewDocumentRef, ResourceRef, UriParts, escapeSegment, parseResourceUri } from './document-uri';

/** What a new-document editor shows first. */
export const NEW_DOCUMENT_TEMPLATE = '{\n  \n}\n';

/** The most documents a collection directory lists (readDirectory). */
const DIRECTORY_LIMIT = 1000;
/** Change events are gathered for this long and fired as one batch. */
const CHANGE_BATCH_MS = 25;

/**
 * What else a document's save writes, in the same transaction: given the saved document, a
 * function adding its writes, or undefined for none (the conflicts a merge resolves use it).
 */
export type SaveCompanion = (uri: vscode.Uri, database: OpenDatabase, ref: DocumentRef) => Promise<((txn: Transaction) => Promise<void>) | undefined>;

/** A document inserted by saving a new-document editor. */
export interface InsertedFromEditor {
  readonly uri: vscode.Uri;
  readonly databaseId: string;
  readonly collection: string;
  readonly id: string;
}

/**
 * The text of a document as its editor shows it: 2-space JSON and a final newline, without the
 * sync layer's version counter `_v` (the engine keeps it when the edited text is saved).
 */
export function formatDocument(doc: Doc): string {
  const { _v: _version, ...shown } = doc as Doc & { _v?: unknown };
  return JSON.stringify(shown, null, 2) + '\n';
}

/**
 * Parses the text of a document.
 * @throws Error saying what is wrong and where (line and column), when it is not JSON or not an
 *   object. `action` ends the message, e.g. "Nothing was saved."
 */
export function parseDocumentText(text: string, action: string): Record<string, unknown> {
  let value: unknown;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte order mark is not part of the JSON
  try {
    value = JSON.parse(text);
  } catch (err) {
    const { line, column, detail } = locateJsonError(text, (err as Error).message);
    throw new Error(vscode.l10n.t('The document is not valid JSON: line {0}, column {1}: {2}. {3}', line, column, detail, action));
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = Array.isArray(value) ? vscode.l10n.t('an array') : value === null ? 'null' : typeof value === 'string' ? vscode.l10n.t('a string') : typeof value === 'number' ? vscode.l10n.t('a number') : String(value);
    throw new Error(vscode.l10n.t('A document must be one JSON object ({ … }), not {0}. {1}', what, action));
  }
  return value as Record<string, unknown>;
}

/**
 * Where and why `text` is not JSON: line and column (1-based) and what is wrong, from
 * jsonc-parser in strict mode (no comments, no trailing commas), because JSON.parse's messages
 * differ between Node versions (some have no position, some quote the whole text).
 */
function locateJsonError(text: string, fallback: string): { line: number; column: number; detail: string } {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  const offset = first ? first.offset : text.length;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1, detail: first ? describeParseError(first.error) : fallback.slice(0, 200) };
}

/** What a jsonc-parser error code means, in words a user can act on. */
function describeParseError(code: ParseErrorCode): string {
  switch (code) {
    case ParseErrorCode.InvalidSymbol: return vscode.l10n.t('something that is not a JSON value (strings take double quotes; true, false and null are lowercase)');
    case ParseErrorCode.InvalidNumberFormat: return vscode.l10n.t('an invalid number');
    case ParseErrorCode.PropertyNameExpected: return vscode.l10n.t('a property name in double quotes was expected (is there a comma too many?)');
    case ParseErrorCode.ValueExpected: return vscode.l10n.t('a value was expected');
    case ParseErrorCode.ColonExpected: return vscode.l10n.t('a colon (:) was expected after the property name');
    case ParseErrorCode.CommaExpected: return vscode.l10n.t('a comma was expected between the values');
    case ParseErrorCode.CloseBraceExpected: return vscode.l10n.t('a } was expected (an object is not closed)');
    case ParseErrorCode.CloseBracketExpected: return vscode.l10n.t('a ] was expected (an array is not closed)');
    case ParseErrorCode.EndOfFileExpected: return vscode.l10n.t('the document should end after its object');
    case ParseErrorCode.InvalidCommentToken: return vscode.l10n.t('comments are not allowed in JSON');
    case ParseErrorCode.UnexpectedEndOfComment: return vscode.l10n.t('a comment is not closed (and comments are not allowed in JSON)');
    case ParseErrorCode.UnexpectedEndOfString: return vscode.l10n.t('a string is not closed (a " is missing)');
    case ParseErrorCode.UnexpectedEndOfNumber: return vscode.l10n.t('a number ends too early');
    case ParseErrorCode.InvalidUnicode: return vscode.l10n.t('\\u must be followed by 4 hexadecimal digits');
    case ParseErrorCode.InvalidEscapeCharacter: return vscode.l10n.t('an invalid escape sequence in a string');
    case ParseErrorCode.InvalidCharacter: return vscode.l10n.t('a line break or control character inside a string (write it as \\n, \\t, …)');
    default: return vscode.l10n.t('not valid JSON');
  }
}

export class DocumentFileSystem implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  private readonly disposables: vscode.Disposable[] = [this.changes];
  /** URIs VS Code asked to watch (besides the open documents, which are always reported). */
  private readonly watched = new Map<string, vscode.Uri>();
  /** New-document editors by URI: when each was opened, and the id once it was inserted. */
  private readonly newDocuments = new Map<string, { readonly created: number; id?: string; announced?: boolean }>();
  /** Editors whose saved text differs from the stored document (e.g. `updatedAt`): see afterSave. */
  private readonly refreshAfterSave = new Set<string>();
  /** Per document, how many ms its reported mtime runs ahead of `updatedAt` (see afterSave). */
  private readonly mtimeBumps = new Map<string, { readonly updatedAt: unknown; readonly ms: number }>();
  private pendingChanges: DataChange[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private openDatabases = new Set<string>();
  private readonly inserted = new vscode.EventEmitter<InsertedFromEditor>();
  private saveCompanion: SaveCompanion | undefined;

  readonly onDidChangeFile = this.changes.event;
  /**
   * A new-document editor's save inserted a document (fired when VS Code reports the save done,
   * so the editor can then be replaced by the document's own).
   */
  readonly onDidInsertFromEditor = this.inserted.event;

  constructor(private readonly registry: DatabaseRegistry, private readonly log: vscode.LogOutputChannel) {
    this.openDatabases = new Set(registry.list().map((d) => d.id));
    this.disposables.push(
      this.inserted,
      registry.onDidChangeData((change) => this.queueChange(change)),
      registry.onDidChangeDatabases(() => this.onDatabasesChanged()),
      vscode.workspace.onDidSaveTextDocument((doc) => void this.afterSave(doc)),
    );
  }

  /** Sets what else a document's save writes in its transaction (one companion at a time). */
  setSaveCompanion(companion: SaveCompanion): vscode.Disposable {
    this.saveCompanion = companion;
    return new vscode.Disposable(() => {
      if (this.saveCompanion === companion) this.saveCompanion = undefined;
    });
  }

  /** Records a URI as a new-document editor (what readFile shows until it is saved). */
  trackNewDocument(uri: vscode.Uri): void {
    if (!this.newDocuments.has(uri.toString())) this.newDocuments.set(uri.toString(), { created: Date.now() });
  }

  // ------------------------------------------------------------------------------------------
  // Reading

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const ref = this.parse(uri);
    const database = await this.database(uri, ref);
    const stat = await this.statOf(uri, ref, database);
    // A read-only database (untrusted workspace): editors open read-only instead of failing on save.
    return database.readOnly ? { ...stat, permissions: vscode.FilePermission.Readonly } : stat;
  }

  private async statOf(uri: vscode.Uri, ref: ReturnType<DocumentFileSystem['parse']>, database: OpenDatabase): Promise<vscode.FileStat> {
    switch (ref.kind) {
      case 'database':
        return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
      case 'collection':
        await this.existingCollection(uri, database, ref.collection);
        return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0 };
      case 'document':
        return this.documentStat(await this.existingDocument(uri, database, ref), ref);
      case 'new-document': {
        const entry = this.newDocuments.get(uri.toString());
        if (entry?.id !== undefined) {
          const docRef = { databaseId: database.id, collection: ref.collection, id: entry.id };
          return this.documentStat(await this.existingDocument(uri, database, docRef), docRef);
        }
        const created = entry?.created ?? 0;
        return { type: vscode.FileType.File, ctime: created, mtime: created, size: Buffer.byteLength(NEW_DOCUMENT_TEMPLATE) };
      }
    }
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const ref = this.parse(uri);
    const database = await this.database(uri, ref);
    if (ref.kind === 'document') return Buffer.from(formatDocument(await this.existingDocument(uri, database, ref)));
    if (ref.kind === 'new-document') {
      const id = this.newDocuments.get(uri.toString())?.id;
      if (id === undefined) return Buffer.from(NEW_DOCUMENT_TEMPLATE);
      return Buffer.from(formatDocument(await this.existingDocument(uri, database, { databaseId: database.id, collection: ref.collection, id })));
    }
    throw vscode.FileSystemError.FileIsADirectory(uri);
  }

  async readDirectory(uri: vscode.Uri): Promise<[string, vscode.FileType][]> {
    const ref = this.parse(uri);
    const database = await this.database(uri, ref);
    if (ref.kind === 'database') {
      return (await database.db.getCollectionNames()).map((name) => [escapeSegment(name), vscode.FileType.Directory]);
    }
    if (ref.kind === 'collection') {
      const collection = await this.existingCollection(uri, database, ref.collection);
      const { docs } = await collection.page({ limit: DIRECTORY_LIMIT });
      return docs.map((d) => [`${escapeSegment(d._id)}.json`, vscode.FileType.File]);
    }
    throw vscode.FileSystemError.FileNotADirectory(uri);
  }

  // ------------------------------------------------------------------------------------------
  // Writing

  async writeFile(uri: vscode.Uri, content: Uint8Array, options: { readonly create: boolean; readonly overwrite: boolean }): Promise<void> {
    const ref = this.parse(uri);
    const database = await this.database(uri, ref);
    if (ref.kind === 'database' || ref.kind === 'collection') throw vscode.FileSystemError.FileIsADirectory(uri);
    const text = Buffer.from(content).toString('utf8');
    const body = parseDocumentText(text, vscode.l10n.t('Nothing was saved; fix the JSON and save again.'));

    let target: DocumentRef;
    if (ref.kind === 'new-document') {
      const entry = this.newDocuments.get(uri.toString()) ?? { created: Date.now() };
      this.newDocuments.set(uri.toString(), entry);
      if (entry.id === undefined) {
        const doc = await this.insertNew(database, ref, body);
        entry.id = doc._id;
        this.log.info(`inserted ${doc._id} into ${ref.collection} of ${database.id} from a new-document editor`);
        return;
      }
      // Saved again before its editor was replaced: the new document is the inserted one now.
      target = { databaseId: database.id, collection: ref.collection, id: entry.id };
    } else {
      target = ref;
    }
    await this.replace(uri, database, target, body, options);
    const stored = await this.findDocument(database, target);
    if (stored && formatDocument(stored) !== text) this.refreshAfterSave.add(uri.toString());
  }

  /** Inserts the content of a new-document editor into its collection. */
  private async insertNew(database: OpenDatabase, ref: NewDocumentRef, body: Record<string, unknown>): Promise<Doc> {
    try {
      const collection = await database.db.collection(ref.collection);
      return await collection.insert(body);
    } catch (err) {
      throw engineError(err, vscode.l10n.t('Nothing was inserted.'));
    }
  }

  /**
   * Replaces the stored document with exactly `body` (the engine keeps `_id`, `createdAt` and a
   * synced version `_v`, and sets `updatedAt`), or inserts it when it no longer exists and
   * `options.create` allows (saving the editor of a removed document brings it back, like a file).
   */
  private async replace(uri: vscode.Uri, database: OpenDatabase, ref: DocumentRef, body: Record<string, unknown>, options: { readonly create: boolean; readonly overwrite: boolean }): Promise<void> {
    const nothing = vscode.l10n.t('Nothing was saved.');
    if (body._id !== undefined && body._id !== ref.id) {
      throw new Error(vscode.l10n.t('The _id was changed from {0} to {1}, but a document\'s _id cannot change. Put back "_id": {0} (or remove the line) and save again; to store a copy under another _id, use New Document. {2}', JSON.stringify(ref.id), JSON.stringify(body._id) ?? String(body._id), nothing));
    }
    // The engine reads a body whose top-level keys start with `$` as update operators.
    const operatorLike = Object.keys(body).filter((k) => k.startsWith('$'));
    if (operatorLike.length > 0) {
      throw new Error(vscode.l10n.t('Top-level field names cannot start with "$" ({0}): the engine would read them as update operators. Rename the field(s) and save again. {1}', operatorLike.join(', '), nothing));
    }
    try {
      const collection = await database.db.collection(ref.collection);
      const exists = (await collection.getById(ref.id)) !== null;
      if (exists && !options.overwrite) throw vscode.FileSystemError.FileExists(uri);
      const companion = await this.saveCompanion?.(uri, database, ref);
      if (companion) {
        if (!exists && !options.create) throw vscode.FileSystemError.FileNotFound(notFoundMessage(uri, ref));
        const txn = database.db.beginTransaction();
        const target = txn.collection(ref.collection);
        if (exists) await target.replaceOne({ _id: ref.id }, body);
        else await target.insert({ ...body, _id: ref.id });
        await companion(txn);
        await txn.commit();
        return;
      }
      if (exists) {
        // The editor holds the whole document: saving replaces it (fields deleted in the editor go).
        const result = await collection.replaceOne({ _id: ref.id }, body);
        if (result.matchedCount === 1) return;
      }
      if (!options.create) throw vscode.FileSystemError.FileNotFound(notFoundMessage(uri, ref));
      await collection.insert({ ...body, _id: ref.id });
    } catch (err) {
      throw engineError(err, nothing);
    }
  }

  async delete(uri: vscode.Uri): Promise<void> {
    const ref = this.parse(uri);
    const database = await this.database(uri, ref);
    if (ref.kind === 'document') {
      const collection = await this.existingCollection(uri, database, ref.collection);
      if (!(await collection.remove(ref.id))) throw vscode.FileSystemError.FileNotFound(notFoundMessage(uri, ref));
      return;
    }
    if (ref.kind === 'new-document') return; // nothing stored yet
    throw vscode.FileSystemError.NoPermissions(vscode.l10n.t('Databases and collections cannot be deleted as files; drop a collection from the WiseJSON view.'));
  }

  async createDirectory(uri: vscode.Uri): Promise<void> {
    const ref = this.parse(uri);
    const database = await this.database(uri, ref);
    if (ref.kind !== 'collection') throw vscode.FileSystemError.NoPermissions(vscode.l10n.t('Only collections (wisejson:/<collection>) can be created as directories.'));
    if ((await database.db.getCollectionNames()).includes(ref.collection)) throw vscode.FileSystemError.FileExists(uri);
    try {
      await database.db.collection(ref.collection);
    } catch (err) {
      throw engineError(err, vscode.l10n.t('No collection was created.'));
    }
  }

  rename(): void {
    throw vscode.FileSystemError.NoPermissions(vscode.l10n.t('WiseJSON documents cannot be renamed or moved: a document\'s _id never changes. Insert a copy with the new _id and remove the old document instead.'));
  }

  // ------------------------------------------------------------------------------------------
  // Change events

  watch(uri: vscode.Uri): vscode.Disposable {
    const watchKey = uri.toString();
    this.watched.set(watchKey, uri);
    return new vscode.Disposable(() => this.watched.delete(watchKey));
  }

  private queueChange(change: DataChange): void {
    this.pendingChanges.push(change);
    this.flushTimer ??= setTimeout(() => this.flushChanges(), CHANGE_BATCH_MS);
  }

  /**
   * Turns a batch of data changes into file events for what VS Code has open (text documents)
   * or watches: a bulk write of many documents costs one pass, not one event per document.
   */
  private flushChanges(): void {
    this.flushTimer = undefined;
    const changes = this.pendingChanges;
    this.pendingChanges = [];
    const { documents, collections, databases } = this.observed();
    const events: vscode.FileChangeEvent[] = [];
    const dirsChanged = new Map<string, vscode.Uri>();
    for (const change of changes) {
      const dbId = change.database.id;
      const collKey = key(dbId, change.collection);
      switch (change.kind) {
        case 'insert':
        case 'update':
        case 'remove': {
          const type = change.kind === 'insert' ? vscode.FileChangeType.Created : change.kind === 'update' ? vscode.FileChangeType.Changed : vscode.FileChangeType.Deleted;
          for (const uri of documents.get(key(dbId, change.collection, change.id ?? '')) ?? []) events.push({ type, uri });
          for (const uri of collections.get(collKey) ?? []) dirsChanged.set(uri.toString(), uri);
          break;
        }
        case 'clear':
        case 'collection-dropped':
          for (const [docKey, uris] of documents) {
            if (!docKey.startsWith(collKey + '\0')) continue;
            for (const uri of uris) events.push({ type: vscode.FileChangeType.Deleted, uri });
          }
          for (const uri of collections.get(collKey) ?? []) {
            if (change.kind === 'clear') dirsChanged.set(uri.toString(), uri);
            else events.push({ type: vscode.FileChangeType.Deleted, uri });
          }
          for (const uri of databases.get(dbId) ?? []) dirsChanged.set(uri.toString(), uri);
          break;
        case 'collection-created':
          for (const uri of collections.get(collKey) ?? []) events.push({ type: vscode.FileChangeType.Created, uri });
          for (const uri of databases.get(dbId) ?? []) dirsChanged.set(uri.toString(), uri);
          break;
      }
    }
    for (const uri of dirsChanged.values()) events.push({ type: vscode.FileChangeType.Changed, uri });
    if (events.length > 0) this.changes.fire(events);
  }

  /** Open editors of a database that closed show as deleted, and come back when it reopens. */
  private onDatabasesChanged(): void {
    const now = new Set(this.registry.list().map((d) => d.id));
    const closed = [...this.openDatabases].filter((id) => !now.has(id));
    const reopened = [...now].filter((id) => !this.openDatabases.has(id));
    this.openDatabases = now;
    if (closed.length === 0 && reopened.length === 0) return;
    const events: vscode.FileChangeEvent[] = [];
    for (const uri of this.observedUris()) {
      const ref = tryParse(uri);
      if (!ref || ref.kind === 'new-document') continue;
      const dbId = databaseKey(ref.databaseId);
      if (closed.includes(dbId)) events.push({ type: vscode.FileChangeType.Deleted, uri });
      else if (reopened.includes(dbId)) events.push({ type: vscode.FileChangeType.Created, uri });
    }
    if (events.length > 0) this.changes.fire(events);
  }

  /**
   * After VS Code saved an editor whose text differs from what is now stored (the engine set a
   * new `updatedAt`; the text may have had other formatting), the editor should show the stored
   * document. VS Code reloads a clean editor on a change event only when the file's mtime/size
   * differ from what it saw right after the save, and that was already the new document's
   * `updatedAt`; so this document's reported mtime moves 1 ms ahead, then the change is fired.
   */
  private async afterSave(textDocument: vscode.TextDocument): Promise<void> {
    const uri = textDocument.uri;
    if (uri.scheme !== DOCUMENT_SCHEME) return;
    const entry = this.newDocuments.get(uri.toString());
    if (entry?.id !== undefined) {
      const ref = tryParse(uri);
      if (ref?.kind === 'new-document' && !entry.announced) {
        entry.announced = true;
        this.inserted.fire({ uri, databaseId: databaseKey(ref.databaseId), collection: ref.collection, id: entry.id });
      }
      return;
    }
    if (!this.refreshAfterSave.delete(uri.toString())) return;
    try {
      const ref = tryParse(uri);
      if (ref?.kind !== 'document') return;
      const database = this.registry.get(ref.databaseId);
      const stored = database && (await this.findDocument(database, ref));
      if (!database || !stored) return;
      const docKey = key(database.id, ref.collection, ref.id);
      const bump = this.mtimeBumps.get(docKey);
      this.mtimeBumps.set(docKey, { updatedAt: stored.updatedAt, ms: bump && bump.updatedAt === stored.updatedAt ? bump.ms + 1 : 1 });
      this.changes.fire([{ type: vscode.FileChangeType.Changed, uri }]);
    } catch (err) {
      this.log.warn(`refreshing ${uri.toString()} after a save failed: ${String(err)}`);
    }
  }

  /** The `wisejson:` URIs VS Code has open as text documents or watches. */
  private observedUris(): vscode.Uri[] {
    const uris = new Map<string, vscode.Uri>(this.watched);
    for (const doc of vscode.workspace.textDocuments) {
      if (doc.uri.scheme === DOCUMENT_SCHEME) uris.set(doc.uri.toString(), doc.uri);
    }
    return [...uris.values()];
  }

  /** The observed URIs indexed by document, collection and database key. */
  private observed(): { documents: Map<string, vscode.Uri[]>; collections: Map<string, vscode.Uri[]>; databases: Map<string, vscode.Uri[]> } {
    const documents = new Map<string, vscode.Uri[]>();
    const collections = new Map<string, vscode.Uri[]>();
    const databases = new Map<string, vscode.Uri[]>();
    const add = (map: Map<string, vscode.Uri[]>, k: string, uri: vscode.Uri): void => {
      const list = map.get(k);
      if (list) list.push(uri);
      else map.set(k, [uri]);
    };
    for (const uri of this.observedUris()) {
      const ref = tryParse(uri);
      if (!ref) continue;
      const dbId = databaseKey(ref.databaseId);
      if (ref.kind === 'document') add(documents, key(dbId, ref.collection, ref.id), uri);
      else if (ref.kind === 'new-document') {
        const id = this.newDocuments.get(uri.toString())?.id;
        if (id !== undefined) add(documents, key(dbId, ref.collection, id), uri);
      } else if (ref.kind === 'collection') add(collections, key(dbId, ref.collection), uri);
      else add(databases, dbId, uri);
    }
    return { documents, collections, databases };
  }

  // ------------------------------------------------------------------------------------------
  // Lookups

  private parse(uri: vscode.Uri): ResourceRef {
    try {
      return parseResourceUri(uri);
    } catch (err) {
      throw vscode.FileSystemError.FileNotFound((err as Error).message);
    }
  }

  /**
   * The open database a URI belongs to. A miss waits for the registry to finish opening the
   * configured databases first (editors restored at start-up read before it is done).
   */
  private async database(uri: vscode.Uri, ref: ResourceRef): Promise<OpenDatabase> {
    let database = this.registry.get(ref.databaseId);
    if (!database) {
      await this.registry.refresh();
      database = this.registry.get(ref.databaseId);
    }
    if (!database) {
      throw vscode.FileSystemError.FileNotFound(vscode.l10n.t('The WiseJSON database {0} is not open in this window: it may have been closed, or removed from the wisejson.databases setting ({1}).', ref.databaseId, uri.toString(true)));
    }
    return database;
  }

  /** A collection that exists (looking one up must not create it). */
  private async existingCollection(uri: vscode.Uri, database: OpenDatabase, name: string): Promise<Collection> {
    if (!(await database.db.getCollectionNames()).includes(name)) {
      throw vscode.FileSystemError.FileNotFound(vscode.l10n.t('The collection "{0}" does not exist in {1}: it may have been dropped ({2}).', name, database.id, uri.toString(true)));
    }
    return database.db.collection(name);
  }

  private async findDocument(database: OpenDatabase, ref: DocumentRef): Promise<Doc | null> {
    if (!(await database.db.getCollectionNames()).includes(ref.collection)) return null;
    return (await database.db.collection(ref.collection)).getById(ref.id);
  }

  private async existingDocument(uri: vscode.Uri, database: OpenDatabase, ref: DocumentRef): Promise<Doc> {
    const doc = await this.findDocument(database, ref);
    if (!doc) throw vscode.FileSystemError.FileNotFound(notFoundMessage(uri, ref));
    return doc;
  }

  private documentStat(doc: Doc, ref: DocumentRef): vscode.FileStat {
    const bump = this.mtimeBumps.get(key(databaseKey(ref.databaseId), ref.collection, ref.id));
    const mtime = timeOf(doc.updatedAt) + (bump && bump.updatedAt === doc.updatedAt ? bump.ms : 0);
    return { type: vscode.FileType.File, ctime: timeOf(doc.createdAt), mtime, size: Buffer.byteLength(formatDocument(doc)) };
  }

  dispose(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const d of this.disposables) d.dispose();
  }
}

/** A database id as the registry keys it (an absolute, normalised folder path). */
function databaseKey(databaseId: string): string {
  return path.resolve(databaseId);
}

function key(databaseId: string, collection: string, id?: string): string {
  return id === undefined ? `${databaseId}\0${collection}` : `${databaseId}\0${collection}\0${id}`;
}

function tryParse(uri: UriParts): ResourceRef | undefined {
  try {
    return parseResourceUri(uri);
  } catch {
    return undefined;
  }
}

function timeOf(iso: unknown): number {
  const t = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

function notFoundMessage(uri: vscode.Uri, ref: DocumentRef): string {
  return vscode.l10n.t('The document {0} of collection "{1}" was not found: it may have been removed, or its database closed ({2}).', JSON.stringify(ref.id), ref.collection, uri.toString(true));
}

/** An engine error (typed, with a code and an actionable message) as what VS Code shows. */
function engineError(err: unknown, action: string): Error {
  if (err instanceof vscode.FileSystemError) return err;
  if (err instanceof WiseJSONError) {
    const e = new Error(err.message.includes('Nothing was') ? err.message : `${err.message} ${action}`);
    e.name = err.name;
    return e;
  }
  return err instanceof Error ? err : new Error(String(err));
}
