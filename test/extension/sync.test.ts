import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { OpenDatabase } from '../../src/extension/databases/database-registry';
import type { StatusBarState } from '../../src/extension/sync/sync-status-bar';
import type { HostToWebviewMessage } from '../../src/extension/timeline/protocol';
import { addDatabase, extensionApi, filesUnder, removeDatabase, SyncServer, waitFor, workspaceFolder } from './helpers';

describe('extension: sync with a real server, SecretStorage and the status bar', function () {
  this.timeout(120_000);
  let server: SyncServer;
  let database: OpenDatabase;
  const seen: StatusBarState[] = [];
  let sub: vscode.Disposable;

  before(async () => {
    const api = await extensionApi();
    server = await SyncServer.start();
    database = await addDatabase('.wisejson-sync');
    await (await database.db.collection('notes')).insert({ _id: 'local-1', text: 'written before sync' });
    sub = api._internals.sync.onDidChangeState(() => seen.push(api._internals.statusBar.state));
  });
  after(async () => {
    sub?.dispose();
    const api = await extensionApi();
    await vscode.commands.executeCommand('wisejson.disableSync', workspaceFolder().uri);
    await api._internals.keys.clear(server.url);
    await vscode.workspace.getConfiguration('wisejson.sync', workspaceFolder().uri).update('serverUrl', undefined, vscode.ConfigurationTarget.WorkspaceFolder);
    await removeDatabase(database);
    await server.stop();
  });

  const statusBar = async () => (await extensionApi())._internals.statusBar;

  /** What the sync timeline's strip says about this database (the panel opened and closed again). */
  const timelineState = async (expected: string): Promise<string | undefined> => {
    const timeline = (await extensionApi())._internals.timeline;
    const posted: HostToWebviewMessage[] = [];
    const sub = timeline.onDidPostMessage((m) => posted.push(m));
    try {
      timeline.open();
      await timeline.whenReady();
      const line = () => posted.flatMap((m) => (m.type === 'status' ? m.lines : [])).filter((l) => l.database === database.id).at(-1);
      await waitFor(`the timeline to say ${expected}`, () => line()?.state === expected).catch(() => undefined);
      return line()?.state;
    } finally {
      sub.dispose();
      timeline.panel?.dispose();
    }
  };

  it('starts with sync off in the status bar', async () => {
    const bar = await statusBar();
    bar.update();
    assert.equal(bar.state, 'off');
    assert.match(bar.item.text, /sync off/);
  });

  it('Enable Sync stores the key only in SecretStorage, syncs, and the status bar says live (the default)', async () => {
    const api = await extensionApi();
    const ok = await vscode.commands.executeCommand('wisejson.enableSync', { folder: workspaceFolder().uri, serverUrl: server.url, dataset: 'e2e', apiKey: server.apiKey });
    assert.equal(ok, true);
    assert.equal(await api._internals.keys.get(server.url), server.apiKey, 'the key is in SecretStorage');
    const settings = vscode.workspace.getConfiguration('wisejson.sync', workspaceFolder().uri);
    assert.equal(settings.get('serverUrl'), server.url);
    assert.equal(settings.get('dataset'), 'e2e');
    assert.equal(settings.get('enabled'), true);
    // The key is in no file of the workspace (settings included) nor in the extension's storage and logs.
    const { logs, global, workspace } = api._internals.storagePaths;
    const ctxDirs = [workspaceFolder().uri.fsPath, path.dirname(logs), global, workspace ?? ''];
    for (const f of ctxDirs.filter(Boolean).flatMap(filesUnder)) {
      assert.ok(!fs.readFileSync(f).includes(server.apiKey), `the API key was written to ${f}`);
    }
    const bar = await statusBar();
    await waitFor('the status bar to say live', () => bar.state === 'live', 15_000);
    assert.match(bar.item.text, /WiseJSON: live/);
    assert.equal(database.db.getSyncStatus()?.mode, 'live');
    assert.ok(seen.includes('syncing'), `the status bar showed syncing during the first cycle (saw ${seen.join(', ')})`);
    assert.match(String((bar.item.tooltip as vscode.MarkdownString).value), new RegExp(server.url.replace(/[.:/]/g, '\\$&')));
  });

  it('the local document reached the server: another replica pulls it', async () => {
    const api = await extensionApi();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-ext-replica-'));
    const other = await api.connect(dir);
    try {
      const notes = await other.collection('notes');
      notes.enableSync({ url: server.url, apiKey: server.apiKey, dataset: 'e2e' });
      await notes.triggerSync();
      assert.equal((await notes.getById('local-1'))?.text, 'written before sync');
      // And the other way: its write reaches this window's database (and the tree) on the next cycle.
      await notes.insert({ _id: 'remote-1', text: 'from another replica' });
      await notes.triggerSync();
      await vscode.commands.executeCommand('wisejson.triggerSync');
      const mine = await database.db.collection('notes');
      await waitFor('the remote document to arrive', async () => (await mine.getById('remote-1'))?.text === 'from another replica', 15_000);
    } finally {
      await other.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('live (the default): another replica\'s write shows here with no Sync Now, and the Sync view says live', async () => {
    const api = await extensionApi();
    await waitFor('live sync on', () => database.db.getSyncStatus()?.mode === 'live');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-ext-live-'));
    const other = await api.connect(dir);
    try {
      const notes = await other.collection('notes');
      notes.enableSync({ url: server.url, apiKey: server.apiKey, dataset: 'e2e' });
      await notes.insert({ _id: 'live-1', text: 'pushed by another replica' });
      const t0 = Date.now();
      await notes.triggerSync();
      const mine = await database.db.collection('notes');
      await waitFor('the live change to arrive', async () => (await mine.getById('live-1'))?.text === 'pushed by another replica', 10_000);
      console.log(`      another replica's write arrived here ${Date.now() - t0} ms after its push started`);
      const rows = api._internals.syncTree.getChildren({ database }) as { label?: string; value?: string }[];
      assert.match(rows.find((r) => r.label === 'Mode')?.value ?? '', /^live/);
      assert.equal(await timelineState('live'), 'live');
    } finally {
      await other.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with wisejson.sync.live off: it polls on the interval, the status bar says synced, the Sync view says polling', async () => {
    const api = await extensionApi();
    const bar = await statusBar();
    const settings = vscode.workspace.getConfiguration('wisejson.sync', workspaceFolder().uri);
    await settings.update('live', false, vscode.ConfigurationTarget.WorkspaceFolder);
    try {
      await api._internals.sync.applyAll();
      await waitFor('interval sync', () => database.db.getSyncStatus()?.mode === 'interval');
      await vscode.commands.executeCommand('wisejson.triggerSync');
      await waitFor('the status bar to say synced', () => bar.state === 'synced', 15_000);
      assert.match(bar.item.text, /WiseJSON: synced/);
      const rows = api._internals.syncTree.getChildren({ database }) as { label?: string; value?: string }[];
      assert.match(rows.find((r) => r.label === 'Mode')?.value ?? '', /polling/);
      assert.equal(await timelineState('polling'), 'polling');
    } finally {
      await settings.update('live', undefined, vscode.ConfigurationTarget.WorkspaceFolder);
      await api._internals.sync.applyAll();
    }
    await waitFor('live again', () => database.db.getSyncStatus()?.mode === 'live' && bar.state === 'live', 15_000);
  });

  it('a refused key: the status bar shows the error with pending changes; a new key resumes and the timeline has it all', async () => {
    const api = await extensionApi();
    const bar = await statusBar();
    await vscode.commands.executeCommand('wisejson.setApiKey', { serverUrl: server.url, apiKey: 'wrong-key' });
    await (await database.db.collection('notes')).insert({ _id: 'local-2', text: 'written with a bad key' });
    await vscode.commands.executeCommand('wisejson.triggerSync');
    await waitFor('the status bar to show the error', () => bar.state === 'error', 15_000);
    assert.match(bar.item.text, /sync error/);
    assert.ok(database.db.getSyncStatus()!.pending >= 1);
    assert.ok(!String((bar.item.tooltip as vscode.MarkdownString).value).includes('wrong-key'), 'the tooltip never shows a key');
    await vscode.commands.executeCommand('wisejson.setApiKey', { serverUrl: server.url, apiKey: server.apiKey });
    await vscode.commands.executeCommand('wisejson.triggerSync');
    await waitFor('the status bar to say live again', () => bar.state === 'live' && database.db.getSyncStatus()!.pending === 0, 15_000);
    const kinds = new Set(api._internals.syncEventLog.entries().filter((e) => e.database === database.id).map((e) => e.kind));
    for (const k of ['start', 'success', 'error', 'push_success', 'paused', 'resumed']) assert.ok(kinds.has(k), `the timeline has a ${k} event (has ${[...kinds].join(', ')})`);
    for (const e of api._internals.syncEventLog.entries()) assert.ok(!JSON.stringify(e).includes(server.apiKey) && !JSON.stringify(e).includes('wrong-key'), 'no key in the timeline');
  });

  it('Clear API Key: the status bar asks for a key; Disable Sync: sync off', async () => {
    const api = await extensionApi();
    const bar = await statusBar();
    await vscode.commands.executeCommand('wisejson.clearApiKey', server.url);
    assert.equal(await api._internals.keys.get(server.url), undefined);
    await waitFor('the status bar to ask for a key', () => bar.state === 'no-key');
    assert.match(bar.item.text, /API key needed/);
    await vscode.commands.executeCommand('wisejson.setApiKey', { serverUrl: server.url, apiKey: server.apiKey });
    await waitFor('sync back on', () => bar.state === 'live' || bar.state === 'syncing');
    await vscode.commands.executeCommand('wisejson.disableSync', workspaceFolder().uri);
    await waitFor('the status bar to say sync off', () => bar.state === 'off');
    assert.equal(database.db.getSyncStatus(), null);
  });

  it('sync turned on by settings alone waits for consent, once per folder and server; Enable Sync is consent', async () => {
    const api = await extensionApi();
    const bar = await statusBar();
    const folder = workspaceFolder();
    const other = await SyncServer.start();
    try {
      // As a committed .vscode/settings.json would: sync on, a server the user holds a key for.
      await api._internals.keys.set(other.url, other.apiKey);
      const settings = vscode.workspace.getConfiguration('wisejson.sync', folder.uri);
      await settings.update('serverUrl', other.url, vscode.ConfigurationTarget.WorkspaceFolder);
      await settings.update('dataset', 'consent', vscode.ConfigurationTarget.WorkspaceFolder);
      await settings.update('enabled', true, vscode.ConfigurationTarget.WorkspaceFolder);
      await api._internals.sync.applyAll();
      const state = api._internals.sync.state(database);
      assert.equal(state.kind, 'needs-consent');
      assert.equal(database.db.getSyncStatus(), null, 'nothing syncs before the answer');
      await waitFor('the status bar to wait for the OK', () => bar.state === 'needs-consent');
      assert.equal(api._internals.sync.consent.get(folder, other.url), undefined);
      // Declined: still nothing, and the Sync view says how to allow it.
      await api._internals.sync.consent.set(folder, other.url, 'declined');
      await api._internals.sync.applyAll();
      const declined = api._internals.sync.state(database);
      assert.deepEqual(declined, { kind: 'needs-consent', serverUrl: other.url, declined: true });
      assert.equal(database.db.getSyncStatus(), null);
      const head = await fetch(`${other.url}/v1/datasets/consent/changes?since=0`, { headers: { authorization: `Bearer ${other.apiKey}`, 'sync-protocol': '1' } });
      const body = (await head.json()) as { head?: number; code?: string };
      assert.ok(head.status === 404 || body.head === 0, `not a request carried data to the server: ${head.status} ${JSON.stringify(body)}`);
      // The user's own Enable Sync is the consent.
      await vscode.commands.executeCommand('wisejson.enableSync', { folder: folder.uri, serverUrl: other.url, dataset: 'consent', apiKey: other.apiKey });
      assert.equal(api._internals.sync.consent.get(folder, other.url), 'allowed');
      await waitFor('sync on', () => database.db.getSyncStatus() !== null);
      await vscode.commands.executeCommand('wisejson.disableSync', folder.uri);
    } finally {
      await api._internals.keys.clear(other.url);
      await other.stop();
    }
  });

  it('a server that does not answer: offline, with the write pending', async () => {
    const bar = await statusBar();
    const down = await SyncServer.start();
    const url = down.url;
    await down.stop();
    await vscode.commands.executeCommand('wisejson.enableSync', { folder: workspaceFolder().uri, serverUrl: url, dataset: 'e2e', apiKey: 'k' });
    await (await database.db.collection('notes')).insert({ _id: 'local-3', text: 'offline' });
    await vscode.commands.executeCommand('wisejson.triggerSync');
    await waitFor('the status bar to say offline', () => bar.state === 'offline', 20_000);
    assert.match(bar.item.text, /offline/);
    await vscode.commands.executeCommand('wisejson.disableSync', workspaceFolder().uri);
    await (await extensionApi())._internals.keys.clear(url);
  });
});
