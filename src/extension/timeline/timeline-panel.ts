/**
 * The sync timeline: one webview panel showing the {@link SyncEventLog} live. A thin adapter:
 * the log is the model, the page (src/webview/timeline) renders it, and the two talk through
 * the typed messages of ./protocol.
 */
import * as vscode from 'vscode';
import {
  EMPTY_FILTER,
  parseFilter,
  parseWebviewMessage,
  type HostToWebviewMessage,
  type SyncStateLine,
  type TimelineFilter,
  type TimelineStrings,
  type WebviewToHostMessage,
} from './protocol';
import type { SyncEventEntry, SyncEventLog } from './sync-event-log';
import { pageHtml } from '../webview/page-html';

export const TIMELINE_VIEW_TYPE = 'wisejson.timeline';

/** Entries recorded within this window reach the page in one `append`. */
const APPEND_BATCH_MS = 50;

/** Where the strip above the chart gets how each database syncs now. */
export interface SyncStateSource {
  lines(): SyncStateLine[];
  readonly onDidChange: vscode.Event<void>;
}

/** No databases, no strip (the timeline without the sync controller, e.g. in its own tests). */
const NO_SYNC_STATE: SyncStateSource = { lines: () => [], onDidChange: () => ({ dispose: () => undefined }) };

/** The timeline as the extension (and its tests, which drive the real panel) sees it. */
export interface TimelineController extends vscode.Disposable {
  /** The open panel, if any (there is at most one). */
  readonly panel: vscode.WebviewPanel | undefined;
  /** Every valid message the page posts. */
  readonly onDidReceiveMessage: vscode.Event<WebviewToHostMessage>;
  /** Every message posted to the page. */
  readonly onDidPostMessage: vscode.Event<HostToWebviewMessage>;
  /**
   * Resolves when the current panel's page has sent `ready` (and was answered with `init`). With
   * no panel open, or before the page loaded, it waits for the next `ready`.
   */
  whenReady(): Promise<void>;
  /** Opens the panel, or reveals it when it is open. */
  open(): vscode.WebviewPanel;
}

/**
 * Registers the `wisejson.openTimeline` command and the panel serializer (so the panel comes
 * back after a reload, with its filter). Everything registered is disposed with the extension.
 */
export function registerTimeline(context: vscode.ExtensionContext, log: SyncEventLog, logger: vscode.LogOutputChannel, syncState: SyncStateSource = NO_SYNC_STATE): TimelineController {
  const controller = new Timeline(context.extensionUri, log, logger, syncState);
  context.subscriptions.push(
    controller,
    vscode.commands.registerCommand('wisejson.openTimeline', () => void controller.open()),
    vscode.window.registerWebviewPanelSerializer(TIMELINE_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state: unknown) => controller.restore(panel, state),
    }),
  );
  return controller;
}

class Timeline implements TimelineController {
  private session: TimelineSession | undefined;
  /** The filter of the last page, so a reopened panel shows what the user last chose. */
  private filter: TimelineFilter = { ...EMPTY_FILTER };
  private readyWaiters: Array<() => void> = [];
  private readonly received = new vscode.EventEmitter<WebviewToHostMessage>();
  private readonly posted = new vscode.EventEmitter<HostToWebviewMessage>();
  readonly onDidReceiveMessage = this.received.event;
  readonly onDidPostMessage = this.posted.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: SyncEventLog,
    private readonly logger: vscode.LogOutputChannel,
    private readonly syncState: SyncStateSource,
  ) {}

  get panel(): vscode.WebviewPanel | undefined {
    return this.session?.panel;
  }

  open(): vscode.WebviewPanel {
    if (this.session) {
      this.session.panel.reveal(undefined, false);
      return this.session.panel;
    }
    const panel = vscode.window.createWebviewPanel(TIMELINE_VIEW_TYPE, vscode.l10n.t('WiseJSON Sync Timeline'), vscode.ViewColumn.Active, this.webviewOptions());
    this.adopt(panel);
    return panel;
  }

  /** A panel VS Code restores after a reload; `state` is what the page saved with setState. */
  restore(panel: vscode.WebviewPanel, state: unknown): void {
    if (this.session) {
      // Only one timeline: the one already open wins.
      panel.dispose();
      return;
    }
    const filter = parseFilter((state as { filter?: unknown } | undefined)?.filter);
    if (filter) this.filter = filter;
    panel.webview.options = this.webviewOptions();
    this.adopt(panel);
  }

  whenReady(): Promise<void> {
    if (this.session?.ready) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  dispose(): void {
    this.session?.panel.dispose();
    this.session = undefined;
    this.received.dispose();
    this.posted.dispose();
  }

  private webviewOptions(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
  }

  private adopt(panel: vscode.WebviewPanel): void {
    const session = new TimelineSession(panel, this.extensionUri, this.log, this.logger, this.syncState, {
      filter: () => this.filter,
      setFilter: (f) => (this.filter = f),
      received: (m) => this.received.fire(m),
      posted: (m) => this.posted.fire(m),
      ready: () => {
        const waiters = this.readyWaiters;
        this.readyWaiters = [];
        for (const w of waiters) w();
      },
    });
    this.session = session;
    panel.onDidDispose(() => {
      session.dispose();
      if (this.session === session) this.session = undefined;
      this.logger.debug('Sync timeline closed');
    });
    this.logger.debug('Sync timeline opened');
  }
}

interface SessionHooks {
  filter(): TimelineFilter;
  setFilter(filter: TimelineFilter): void;
  received(message: WebviewToHostMessage): void;
  posted(message: HostToWebviewMessage): void;
  ready(): void;
}

/** One open panel: its page, its subscriptions and its pending batch. Ends with the panel. */
class TimelineSession implements vscode.Disposable {
  /** The page answered `ready` and got its `init`: `append`s may flow. */
  ready = false;
  private pending: SyncEventEntry[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private lastStatus = '';
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly log: SyncEventLog,
    private readonly logger: vscode.LogOutputChannel,
    private readonly syncState: SyncStateSource,
    private readonly hooks: SessionHooks,
  ) {
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      log.onDidRecord((entry) => this.enqueue(entry)),
      log.onDidClear(() => {
        this.dropPending();
        if (this.ready) this.post({ type: 'cleared' });
      }),
      log.onDidChangeCapacity(() => {
        if (this.ready) this.sendInit();
      }),
      syncState.onDidChange(() => {
        this.statusTimer ??= setTimeout(() => this.sendStatus(false), APPEND_BATCH_MS);
      }),
    );
    panel.webview.html = this.html();
  }

  dispose(): void {
    this.ready = false;
    this.dropPending();
    if (this.statusTimer) clearTimeout(this.statusTimer);
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private receive(raw: unknown): void {
    const message = parseWebviewMessage(raw);
    if (!message) {
      this.logger.warn(`Sync timeline: ignored an unexpected message from the page: ${preview(raw)}`);
      return;
    }
    switch (message.type) {
      case 'ready':
        // Also after the page reloads (a hidden panel shown again): it starts from scratch.
        this.sendInit();
        this.ready = true;
        break;
      case 'clear':
        this.log.clear();
        break;
      case 'setFilter':
        this.hooks.setFilter(message.filter);
        break;
      case 'rendered':
        break;
      case 'openConflict':
        void vscode.commands.executeCommand('wisejson.openConflict', { database: message.database, conflictId: message.conflictId });
        break;
      case 'log':
        if (message.level === 'error') this.logger.error(`Sync timeline page: ${message.message}`);
        else if (message.level === 'warn') this.logger.warn(`Sync timeline page: ${message.message}`);
        else this.logger.info(`Sync timeline page: ${message.message}`);
        break;
    }
    this.hooks.received(message);
    if (message.type === 'ready') this.hooks.ready();
  }

  private sendInit(): void {
    // The snapshot includes anything pending: do not send it twice.
    this.dropPending();
    this.post({ type: 'init', entries: [...this.log.entries()], filter: this.hooks.filter(), maxEvents: this.log.capacity, strings: strings() });
    this.sendStatus(true);
  }

  /** Posts how each database syncs now, when it changed (always right after an `init`). */
  private sendStatus(always: boolean): void {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.statusTimer = undefined;
    const lines = this.syncState.lines();
    const key = JSON.stringify(lines);
    if ((!always && key === this.lastStatus) || (!always && !this.ready)) return;
    this.lastStatus = key;
    this.post({ type: 'status', lines });
  }

  private enqueue(entry: SyncEventEntry): void {
    if (!this.ready) return; // `init` will carry it
    this.pending.push(entry);
    this.flushTimer ??= setTimeout(() => this.flush(), APPEND_BATCH_MS);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const entries = this.pending;
    this.pending = [];
    if (entries.length > 0 && this.ready) this.post({ type: 'append', entries });
  }

  private dropPending(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending = [];
  }

  private post(message: HostToWebviewMessage): void {
    this.hooks.posted(message);
    this.panel.webview.postMessage(message).then(
      (delivered) => {
        if (!delivered) this.logger.debug(`Sync timeline: a ${message.type} message was not delivered (the page is hidden or closed)`);
      },
      (err: unknown) => this.logger.warn(`Sync timeline: could not post ${message.type}: ${String(err)}`),
    );
  }

  /** The page, with a fresh nonce each time it is set. */
  private html(): string {
    return pageHtml(this.panel.webview, {
      script: vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'timeline.js'),
      style: vscode.Uri.joinPath(this.extensionUri, 'media', 'timeline.css'),
      title: vscode.l10n.t('WiseJSON Sync Timeline'),
    });
  }
}

function strings(): TimelineStrings {
  return {
    allDatabases: vscode.l10n.t('All databases'),
    allCollections: vscode.l10n.t('All collections'),
    allKinds: vscode.l10n.t('All kinds'),
    database: vscode.l10n.t('Database'),
    collection: vscode.l10n.t('Collection'),
    kind: vscode.l10n.t('Kind'),
    clear: vscode.l10n.t('Clear'),
    clearTitle: vscode.l10n.t('Clear the sync event history'),
    empty: vscode.l10n.t('No sync events yet. Enable sync or run WiseJSON: Trigger Sync.'),
    noMatch: vscode.l10n.t('No sync events match the filter.'),
    showing: vscode.l10n.t('{0} of {1} events'),
    chartTitle: vscode.l10n.t('Pushed and pulled per sync cycle'),
    chartEmpty: vscode.l10n.t('No completed sync cycles yet.'),
    pushed: vscode.l10n.t('pushed'),
    pulled: vscode.l10n.t('pulled'),
    cycle: vscode.l10n.t('{0}: pushed {1}, pulled {2}'),
    time: vscode.l10n.t('Time'),
    summary: vscode.l10n.t('Summary'),
    details: vscode.l10n.t('Details'),
    syncState: vscode.l10n.t('How each database syncs now'),
    openConflict: vscode.l10n.t('Open conflict'),
  };
}

function preview(raw: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(raw) ?? String(raw);
  } catch {
    s = String(raw);
  }
  return s.length > 200 ? `${s.slice(0, 199)}…` : s;
}
