/**
 * Shared helpers of the extension-host suite (runs inside a real VS Code): the running extension's
 * API, waiting for a condition, a test database in the test workspace, and a real sync server
 * (dist/server.js in a child process on 127.0.0.1).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WiseJSONExtensionApi } from '../../src/extension/extension';
import type { OpenDatabase } from '../../src/extension/databases/database-registry';

export const EXTENSION_ID = 'wisejson.wisejson-vscode';

export async function extensionApi(): Promise<WiseJSONExtensionApi> {
  const ext = vscode.extensions.getExtension<WiseJSONExtensionApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not installed`);
  return ext.activate();
}

export function workspaceFolder(): vscode.WorkspaceFolder {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('the extension tests need a workspace folder');
  return f;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(50);
  }
}

/** The next value `event` fires that satisfies `predicate`; fails with `what` after `ms`. */
export function nextEvent<T>(event: vscode.Event<T>, predicate: (value: T) => boolean, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.dispose();
      reject(new Error(`Timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const sub = event((value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      sub.dispose();
      resolve(value);
    });
  });
}

/** A fresh database `<name>` in the test workspace, opened through the extension's registry. */
export async function addDatabase(name: string): Promise<OpenDatabase> {
  const api = await extensionApi();
  const dir = path.join(workspaceFolder().uri.fsPath, name);
  fs.rmSync(dir, { recursive: true, force: true });
  return api._internals.registry.add(workspaceFolder(), name);
}

export async function removeDatabase(database: OpenDatabase): Promise<void> {
  const api = await extensionApi();
  await api._internals.registry.remove(database);
  fs.rmSync(database.id, { recursive: true, force: true });
}

/** A real sync server: `node dist/server.js` on a free 127.0.0.1 port with a fresh data folder. */
export class SyncServer {
  private constructor(readonly url: string, readonly apiKey: string, readonly dataDir: string, private readonly child: ChildProcess) {}

  static async start(apiKey = `test-key-${Math.random().toString(36).slice(2)}`): Promise<SyncServer> {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisejson-ext-sync-'));
    const child = spawn(process.execPath, [path.join(ext.extensionPath, 'dist', 'server.js'), '--host', '127.0.0.1', '--port', '0', '--data', dataDir, '--api-key', apiKey], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += String(d)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the sync server did not start: ${err}`)), 20_000);
      child.stdout!.on('data', (d) => {
        out += String(d);
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on('exit', (code) => reject(new Error(`the sync server exited (${code}): ${err}`)));
    });
    return new SyncServer(url, apiKey, dataDir, child);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Every file under `dir` (for "the key is nowhere on disk" checks). */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Invokes a chat agent tool as the agent would, outside a chat request, and returns its text. */
export async function invokeTool(name: string, input: object): Promise<string> {
  const result = await vscode.lm.invokeTool(name, { input, toolInvocationToken: undefined });
  return result.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('');
}
