/**
 * The databases open in this window: for each workspace folder, the folders listed in its
 * `wisejson.databases` setting (default `.wisejson`) that exist. Opens and closes the engine,
 * and turns the engine's events into VS Code events for the tree, the editors, the status bar
 * and the timeline.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { WiseJSON } from '../../engine';
import type { UpgradeReport } from '../../engine';
import { needsUpgrade } from '../../engine/upgrade/wisejson6-upgrade';
import { upgradeLeftSomethingOut, upgradeMessage } from './upgrade-message';
import type { ChangeEvent } from '../../engine/state/database-state';
import { folderAccess, isInside } from './folder-access';

export const DATABASES_SETTING = 'wisejson.databases';
export const DEFAULT_DATABASE = '.wisejson';

/** A database open in this window. `id` (its absolute folder path) is stable across reloads. */
export interface OpenDatabase {
  readonly id: string;
  readonly folder: vscode.WorkspaceFolder;
  /** The folder as written in the setting (relative to the workspace folder, or absolute). */
  readonly setting: string;
  /** A short name for the UI: the setting's text (the full path for a folder outside the workspace). */
  readonly label: string;
  readonly db: WiseJSON;
  /** Opened read-only (an untrusted workspace): every write is refused, nothing is written. */
  readonly readOnly: boolean;
}

/** A configured database folder that is not open, and why. */
export interface DatabaseFailure {
  readonly setting: string;
  readonly reason: string;
  /** `needs-trust`: not opened because the workspace is not trusted; `error`: opening failed. */
  readonly kind: 'error' | 'needs-trust';
}

/** A change in one collection of one database (from this window, another process or sync). */
export interface DataChange {
  readonly database: OpenDatabase;
  readonly collection: string;
  readonly kind: ChangeEvent['kind'];
  /** The changed document's id, for insert/update/remove. */
  readonly id?: string;
}

/** A `sync:*` event of one database. */
export interface SyncEvent {
  readonly database: OpenDatabase;
  readonly event: string;
  readonly payload: unknown;
  readonly at: number;
}

const SYNC_EVENTS = [
  'sync:start', 'sync:success', 'sync:error', 'sync:push_success', 'sync:pull_success', 'sync:conflict',
  'sync:quarantine', 'sync:rejected', 'sync:progress', 'sync:reset', 'sync:paused', 'sync:resumed', 'sync:warning',
];

export class DatabaseRegistry implements vscode.Disposable {
  private readonly open = new Map<string, { database: OpenDatabase; unsubscribe: () => void }>();
  private readonly failed = new Map<string, { reason: string; kind: DatabaseFailure['kind'] }>();
  private readonly changeDatabases = new vscode.EventEmitter<void>();
  private readonly changeData = new vscode.EventEmitter<DataChange>();
  private readonly syncEvent = new vscode.EventEmitter<SyncEvent>();
  private readonly disposables: vscode.Disposable[] = [];
  private refreshing: Promise<void> = Promise.resolve();

  /** A database was opened or closed. */
  readonly onDidChangeDatabases = this.changeDatabases.event;
  /** Documents or collections changed. */
  readonly onDidChangeData = this.changeData.event;
  /** A sync event of any open database. */
  readonly onDidSyncEvent = this.syncEvent.event;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      this.changeDatabases, this.changeData, this.syncEvent,
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.refresh()),
      vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration(DATABASES_SETTING)) void this.refresh(); }),
      // Trust granted: the read-only databases reopen for writing, the outside folders open.
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.refresh()),
    );
  }

  /** Every open database, in workspace-folder and setting order. */
  list(): OpenDatabase[] {
    return [...this.open.values()].map((o) => o.database);
  }

  /** The open database whose folder is `id` (an absolute path). */
  get(id: string): OpenDatabase | undefined {
    return this.open.get(path.resolve(id))?.database;
  }

  /** Databases of one workspace folder. */
  ofFolder(folder: vscode.WorkspaceFolder): OpenDatabase[] {
    return this.list().filter((d) => d.folder.uri.toString() === folder.uri.toString());
  }

  /** Configured database folders that are not open, with the reason (shown in the tree). */
  failures(folder: vscode.WorkspaceFolder): DatabaseFailure[] {
    const out: DatabaseFailure[] = [];
    for (const setting of configuredDatabases(folder)) {
      const f = this.failed.get(resolveDatabase(folder, setting));
      if (f) out.push({ setting, ...f });
    }
    return out;
  }

  /**
   * Opens every configured database folder that exists and closes those no longer configured.
   * Calls are serialized; resolves when this one is done.
   */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.reconcile()).catch((err) => this.log.error(`refresh failed: ${String(err)}`));
    return this.refreshing;
  }

  private async reconcile(): Promise<void> {
    const wanted = new Map<string, { folder: vscode.WorkspaceFolder; setting: string }>();
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      for (const setting of configuredDatabases(folder)) {
        const dir = resolveDatabase(folder, setting);
        if (!wanted.has(dir)) wanted.set(dir, { folder, setting });
      }
    }
    let changed = false;
    const trusted = vscode.workspace.isTrusted;
    for (const [id, o] of [...this.open]) {
      // Kept only if still configured and opened as trust allows now (read-only → writable).
      if (wanted.has(id) && o.database.readOnly === !trusted) continue;
      await this.closeOne(id, o);
      changed = true;
    }
    this.failed.clear();
    for (const [dir, { folder, setting }] of wanted) {
      if (this.open.has(dir)) continue;
      const access = folderAccess(folder.uri.fsPath, dir, trusted);
      if (access.kind === 'needs-trust') {
        // Not even looked into: a committed settings file must not reach outside the workspace.
        this.failed.set(dir, { reason: access.reason, kind: 'needs-trust' });
        changed = true;
        continue;
      }
      if (!fs.existsSync(dir)) continue;
      try {
        await this.openOne(dir, folder, setting, access.kind === 'read-only');
        changed = true;
      } catch (err) {
        if ((err as { code?: string }).code === 'UPGRADE_NEEDED') {
          // A WiseJSON 6 folder is upgraded by its first writable open: in Restricted Mode, not at all.
          this.failed.set(dir, { reason: 'it holds a WiseJSON 6 database, which is upgraded (once, the old files kept in a backup folder inside it) only in a trusted workspace. Trust the workspace to open it.', kind: 'needs-trust' });
          changed = true;
          continue;
        }
        const reason = (err as Error).message;
        this.failed.set(dir, { reason, kind: 'error' });
        this.log.error(`could not open the database ${dir}: ${reason}`);
        changed = true;
      }
    }
    if (changed) this.changeDatabases.fire();
  }

  private async openOne(dir: string, folder: vscode.WorkspaceFolder, setting: string, readOnly: boolean): Promise<OpenDatabase> {
    const db = new WiseJSON(dir, { readOnly });
    if (!readOnly && (await needsUpgrade(dir))) {
      // A WiseJSON 6 folder: its one-time upgrade takes about 3 s per 100k documents.
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Upgrading the WiseJSON 6 database ${setting}…` },
        () => db.init(),
      );
    } else {
      await db.init();
    }
    // A folder outside the workspace shows its full path, so nobody mistakes it for a local one.
    const label = isInside(folder.uri.fsPath, dir) ? setting : dir;
    const database: OpenDatabase = { id: dir, folder, setting, label, db, readOnly };
    const onChange = (e: ChangeEvent): void => {
      const id = e.kind === 'insert' || e.kind === 'update' ? e.doc._id : e.kind === 'remove' ? e.old._id : undefined;
      this.changeData.fire({ database, collection: e.coll, kind: e.kind, id });
    };
    const onWarning = (err: unknown): void => this.log.warn(`${dir}: ${String(err)}`);
    const syncListeners = SYNC_EVENTS.map((event) => {
      const listener = (payload: unknown): void => this.syncEvent.fire({ database, event, payload, at: Date.now() });
      db.on(event, listener);
      return () => db.off(event, listener);
    });
    db.on('change', onChange);
    db.on('warning', onWarning);
    this.open.set(dir, {
      database,
      unsubscribe: () => {
        db.off('change', onChange);
        db.off('warning', onWarning);
        for (const off of syncListeners) off();
      },
    });
    this.log.info(`opened the database ${dir}${readOnly ? ' read-only (the workspace is not trusted)' : ''}`);
    if (db.upgradeReport) this.reportUpgrade(label, dir, db.upgradeReport);
    // Sort each collection's ids for paging now, off the click path, so the first expand of a
    // large collection in the tree costs one page, not a sort of every id.
    setTimeout(() => void this.prepareForPaging(database), 200).unref();
    return database;
  }

  private reportUpgrade(label: string, dir: string, report: UpgradeReport): void {
    const text = upgradeMessage(label, dir, report);
    this.log.info(text);
    for (const p of report.problems) this.log.warn(`${dir}: not carried over from WiseJSON 6: ${p.collection}${p.id !== undefined ? ` ${JSON.stringify(p.id)}` : ''}: ${p.reason}`);
    for (const f of report.skipped.files) this.log.warn(`${dir}: damaged WiseJSON 6 file skipped: ${f}`);
    const show = upgradeLeftSomethingOut(report) ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(text, 'Show Log').then((choice) => {
      if (choice) this.log.show();
    });
  }

  private async prepareForPaging(database: OpenDatabase): Promise<void> {
    try {
      for (const name of await database.db.getCollectionNames()) {
        if (!this.open.has(database.id)) return;
        await (await database.db.collection(name)).page({ limit: 1 });
      }
    } catch (err) {
      this.log.warn(`preparing ${database.id} for paging: ${String(err)}`);
    }
  }

  private async closeOne(id: string, o: { database: OpenDatabase; unsubscribe: () => void }): Promise<void> {
    this.open.delete(id);
    o.unsubscribe();
    try {
      await o.database.db.close();
      this.log.info(`closed the database ${id}`);
    } catch (err) {
      this.log.error(`closing the database ${id} failed: ${String(err)}`);
    }
  }

  /**
   * Makes `setting` (a folder relative to `folder`, or absolute) a database of `folder`: creates
   * the folder, lists it in the folder's `wisejson.databases` when it is not there yet, opens it.
   */
  async add(folder: vscode.WorkspaceFolder, setting: string): Promise<OpenDatabase> {
    if (!vscode.workspace.isTrusted) {
      throw new Error('This workspace is not trusted: in Restricted Mode no database is created or added, and nothing is written. Trust the workspace first.');
    }
    const dir = resolveDatabase(folder, setting);
    fs.mkdirSync(dir, { recursive: true });
    const configured = configuredDatabases(folder);
    if (!configured.some((s) => resolveDatabase(folder, s) === dir)) {
      await vscode.workspace.getConfiguration('wisejson', folder.uri).update('databases', [...configured, setting], vscode.ConfigurationTarget.WorkspaceFolder);
    }
    await this.refresh();
    const database = this.get(dir);
    if (!database) throw new Error(this.failed.get(dir)?.reason ?? `The database ${dir} did not open.`);
    return database;
  }

  /** Closes a database and takes it off its folder's `wisejson.databases` (its files stay). */
  async remove(database: OpenDatabase): Promise<void> {
    const configured = configuredDatabases(database.folder).filter((s) => resolveDatabase(database.folder, s) !== database.id);
    await vscode.workspace.getConfiguration('wisejson', database.folder.uri).update('databases', configured, vscode.ConfigurationTarget.WorkspaceFolder);
    await this.refresh();
  }

  async dispose(): Promise<void> {
    for (const d of this.disposables) d.dispose();
    await Promise.all([...this.open].map(([id, o]) => this.closeOne(id, o)));
  }
}

/**
 * The `wisejson.databases` setting of a workspace folder. It is deliberately not a restricted
 * setting (VS Code would hide its workspace value in Restricted Mode, and nothing could say why
 * a folder is not shown): the registry applies trust itself (folder-access.ts).
 */
export function configuredDatabases(folder: vscode.WorkspaceFolder): string[] {
  const value = vscode.workspace.getConfiguration('wisejson', folder.uri).get<unknown>('databases');
  if (!Array.isArray(value)) return [DEFAULT_DATABASE];
  return value.filter((v): v is string => typeof v === 'string' && v.trim() !== '');
}

/** The absolute folder of a database setting. */
export function resolveDatabase(folder: vscode.WorkspaceFolder, setting: string): string {
  return path.resolve(folder.uri.fsPath, setting);
}
