/**
 * The sync timeline in a real VS Code: the real panel, its real page (dist/webview/timeline.js)
 * and the extension's own SyncEventLog. No mocks: the test records events into the log and
 * watches the messages both ways.
 */
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { nextEvent } from './helpers';
// Types only: the running extension is the bundle in dist/, not these modules.
import type { HostToWebviewMessage, InitMessage, TimelineFilter, WebviewToHostMessage } from '../../src/extension/timeline/protocol';
import type { SyncEventEntry, SyncEventLog } from '../../src/extension/timeline/sync-event-log';
import type { TimelineController } from '../../src/extension/timeline/timeline-panel';

interface Internals {
  timeline: TimelineController;
  syncEventLog: SyncEventLog;
}

/** The page loads in a real browser: give it time on a slow machine. */
const READY_MS = 45_000;
const MESSAGE_MS = 10_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** How many rows the page should show for these entries under this filter. */
function shown(entries: readonly SyncEventEntry[], f: TimelineFilter): number {
  return entries.filter((e) => (f.database === null || e.database === f.database) && (f.collection === null || e.collection === f.collection) && (f.kind === null || e.kind === f.kind)).length;
}

/** Webview tabs of the timeline in every editor group. */
function timelineTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('wisejson.timeline'));
}

async function closed(timeline: TimelineController): Promise<void> {
  const panel = timeline.panel;
  if (!panel) return;
  const gone = new Promise<void>((resolve) => panel.onDidDispose(() => resolve()));
  panel.dispose();
  await gone;
}

describe('extension: sync timeline', function () {
  this.timeout(90_000);
  let timeline: TimelineController;
  let log: SyncEventLog;
  let posted: HostToWebviewMessage[];
  let received: WebviewToHostMessage[];
  let subs: vscode.Disposable[] = [];
  const database = path.join(os.tmpdir(), `wisejson-timeline-test-${process.pid}`, 'db');

  /** Opens the panel and waits for its page's handshake; returns the `init` it got. */
  async function openAndHandshake(): Promise<InitMessage> {
    const before = posted.length;
    await vscode.commands.executeCommand('wisejson.openTimeline');
    assert.ok(timeline.panel, 'the command opened a panel');
    await withTimeout(
      timeline.whenReady(),
      READY_MS,
      () => `The timeline page never sent "ready" (is dist/webview/timeline.js built, and does its CSP let it run?). Page messages: ${JSON.stringify(received)}`,
    );
    const mine = posted.slice(before);
    assert.ok(mine.length > 0, 'the host answered ready');
    assert.equal(mine[0].type, 'init', 'the first message after ready is init');
    return mine[0] as InitMessage;
  }

  before(async () => {
    const ext = vscode.extensions.getExtension('wisejson.wisejson-vscode');
    assert.ok(ext, 'the extension is installed');
    const api = (await ext.activate()) as { _internals?: Partial<Internals> };
    assert.ok(api._internals?.timeline, 'the extension exposes _internals.timeline');
    assert.ok(api._internals?.syncEventLog, 'the extension exposes _internals.syncEventLog');
    timeline = api._internals.timeline;
    log = api._internals.syncEventLog;
  });

  beforeEach(async () => {
    await closed(timeline);
    log.clear();
    posted = [];
    received = [];
    subs = [timeline.onDidPostMessage((m) => posted.push(m)), timeline.onDidReceiveMessage((m) => received.push(m))];
  });

  afterEach(async () => {
    for (const s of subs) s.dispose();
    subs = [];
    await closed(timeline);
  });

  it('opens one panel whose page handshakes, renders, and shows recorded events live', async () => {
    const firstRender = nextEvent(timeline.onDidReceiveMessage, (m) => m.type === 'rendered', READY_MS, 'the first render');
    const init = await openAndHandshake();
    const panel = timeline.panel!;
    assert.equal(panel.viewType, 'wisejson.timeline');
    assert.equal(panel.title, 'WiseJSON Sync Timeline');
    assert.equal(init.maxEvents, log.capacity);
    const seqs = init.entries.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'init entries oldest first');
    assert.deepEqual(Object.keys(init.filter).sort(), ['collection', 'database', 'kind']);
    assert.equal(typeof init.strings.empty, 'string');

    // The page is locked down: scripts only with this render's nonce, styles only from the extension.
    const html = panel.webview.html;
    const nonce = /script-src 'nonce-([^']+)'/.exec(html)?.[1];
    assert.ok(nonce, 'the CSP has a script nonce');
    assert.ok(html.includes(`default-src 'none';`), 'default-src none');
    assert.ok(html.includes(`style-src ${panel.webview.cspSource};`), 'styles only from the webview source');
    assert.ok(!/unsafe-(inline|eval)/.test(html), 'no unsafe-inline or unsafe-eval');
    assert.ok(html.includes(`<script nonce="${nonce}"`), 'the script carries the nonce');
    assert.ok(html.includes('timeline.js') && html.includes('timeline.css'));

    const rendered = await firstRender;
    assert.equal(rendered.type, 'rendered');
    if (rendered.type === 'rendered') {
      assert.equal(rendered.total, init.entries.length);
      assert.equal(rendered.count, shown(init.entries, init.filter));
    }

    // Two events recorded together reach the page in one batch, and the page renders them.
    const appended = nextEvent(timeline.onDidPostMessage, (m) => m.type === 'append' && m.entries.some((e) => e.database === database && e.kind === 'error'), MESSAGE_MS, 'an append with the recorded events');
    let sawAppend = false;
    const sub = timeline.onDidPostMessage((m) => (sawAppend ||= m.type === 'append'));
    subs.push(sub);
    const renderedAfter = nextEvent(
      timeline.onDidReceiveMessage,
      (m) => sawAppend && m.type === 'rendered' && m.total === log.entries().length && m.count === shown(log.entries(), init.filter),
      MESSAGE_MS,
      'a render of the appended events',
    );
    const success = log.record(database, 'timeline-test', 'sync:success', { pushed: 2, pulled: 3, conflicts: 0, checkpoint: null, durationMs: 12 });
    const error = log.record(database, 'timeline-test', 'sync:error', { code: 'network', message: 'fetch failed', retryable: true, attempt: 1, nextRetryAt: null, status: null, apiKey: 'must-not-leak' });
    const append = await appended;
    assert.equal(append.type, 'append');
    if (append.type === 'append') assert.deepEqual(append.entries.filter((e) => e.database === database).map((e) => e.seq), [success.seq, error.seq], 'one batch, in order');
    const after = await renderedAfter;
    assert.ok(after.type === 'rendered' && after.total >= 2);
    assert.ok(!JSON.stringify(posted).includes('must-not-leak'), 'no API key reaches the page');

    // The command again reveals the same panel: still one timeline.
    await vscode.commands.executeCommand('wisejson.openTimeline');
    assert.equal(timeline.panel, panel, 'the same panel');
    assert.equal(timelineTabs().length, 1, 'one timeline tab');

    // Clearing the log clears the page.
    const cleared = nextEvent(timeline.onDidPostMessage, (m) => m.type === 'cleared', MESSAGE_MS, 'cleared');
    const renderedEmpty = nextEvent(timeline.onDidReceiveMessage, (m) => m.type === 'rendered' && m.total === log.entries().length, MESSAGE_MS, 'a render after clearing');
    log.clear();
    await cleared;
    await renderedEmpty;

    // Closing the panel ends its subscriptions: nothing is posted any more.
    await closed(timeline);
    assert.equal(timeline.panel, undefined);
    const count = posted.length;
    log.record(database, 'timeline-test', 'sync:start', { dataset: 'd', collections: ['c'] });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(posted.length, count, 'a closed timeline posts nothing');
  });

  it('reopens after closing, with the events recorded while it was closed', async () => {
    await openAndHandshake();
    await closed(timeline);
    const missed = log.record(database, 'timeline-test', 'sync:pull_success', { collection: 'notes', pulled: 4, checkpoint: 'c1' });
    const rendered = nextEvent(timeline.onDidReceiveMessage, (m) => m.type === 'rendered' && m.total >= 1, READY_MS, 'a render of the reopened page');
    const init = await openAndHandshake();
    const entry = init.entries.find((e) => e.seq === missed.seq);
    assert.ok(entry, 'init carries the event recorded while closed');
    assert.equal(entry.collection, 'notes');
    assert.equal(entry.summary, 'pulled 4 changes into notes');
    await rendered;
    assert.equal(timelineTabs().length, 1);
  });
});
