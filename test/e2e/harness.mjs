// Shared plumbing of test/e2e/run.mjs (the extension-host suite) and test/e2e/ui.mjs (the UI
// checks): paths, logging, the processes we start (each stopped by its pid, also on a failure or
// the timeout), the VS Code server, Chromium through playwright-core, the workbench URL and the
// extension host's console read off the workbench's WebSocket.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { format } from 'node:util';
import { ROOT } from './provision.mjs';

export { ROOT };
export const EXTENSION_ID = 'wisejson.wisejson-vscode';
export const ARTIFACTS = path.join(ROOT, 'test', 'e2e', 'artifacts');
export const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
export const rel = (p) => path.relative(ROOT, p);

const t0 = Date.now();
export const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
export const say = (msg) => console.log(`[e2e ${secs()}s] ${msg}`);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const groupAlive = (pgid) => { try { process.kill(-pgid, 0); return true; } catch { return false; } };

/** Signals a process group we created (a process and what it forked), by its leader's pid. */
export function killGroup(pid, signal) {
  try { process.kill(-pid, signal); } catch { try { process.kill(pid, signal); } catch { /* gone */ } }
}

/**
 * Stops a child we spawned with `detached: true` (so it leads its own process group): SIGTERM to
 * the group, then SIGKILL to what is left of it after `graceMs`.
 */
export async function stopGroup(pid, graceMs = 3000) {
  if (!pid) return;
  killGroup(pid, 'SIGTERM');
  for (let i = 0; i < graceMs / 100 && alive(pid); i++) await sleep(100);
  killGroup(pid, 'SIGKILL');
  for (let i = 0; i < 50 && groupAlive(pid); i++) await sleep(100);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

export const playwright = () => createRequire(path.join(ROOT, 'package.json'))('playwright-core');

/**
 * The VS Code server (lib/vscode/out/server-main.js) on Node 24, on a free 127.0.0.1 port, in
 * its own process group so that it and everything it forks (extension hosts, file watcher, agent
 * host) stop with its pid. Resolves once it answers HTTP. `workspaceTrust`: keep VS Code's
 * workspace trust on (folders it has not been told to trust open in Restricted Mode).
 */
export async function startVsCodeServer({ paths, dirs, cwd, onOutput, onExit, workspaceTrust = false }) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VSCODE_') && k !== 'ELECTRON_RUN_AS_NODE'));
  const args = [
    paths.serverMain, '--host', '127.0.0.1', '--port', String(port), '--without-connection-token',
    '--accept-server-license-terms', '--telemetry-level', 'off', '--enable-smoke-test-driver',
    '--server-data-dir', dirs['server-data'], '--user-data-dir', dirs['user-data'], '--extensions-dir', dirs.extensions,
    // Workspace trust is off unless asked for: a new folder would open in Restricted Mode.
    ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
  ];
  const proc = spawn(paths.node, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [proc.stdout, proc.stderr]) s.on('data', onOutput);
  let exited = null;
  proc.on('exit', (code, signal) => { exited = code ?? signal; onExit(exited); });
  const start = Date.now();
  for (;;) {
    try { if ((await fetch(origin, { signal: AbortSignal.timeout(2000) })).ok) break; } catch { /* not yet */ }
    if (exited !== null) throw new Error(`the VS Code server exited (${exited}) before answering`);
    if (Date.now() - start > 60_000) throw new Error('the VS Code server did not answer within a minute');
    await sleep(200);
  }
  return { proc, port, origin, remote: (p) => `vscode-remote://127.0.0.1:${port}${p}` };
}

/**
 * The sync server (`serverJs`, i.e. dist/server.js) on 127.0.0.1, in its own process group;
 * resolves with the process and its URL once it printed "listening on" (`port` 0: a free one).
 * A server that exits or stays silent for 30 s is killed and the promise rejects.
 */
export async function startSyncServer({ serverJs, dataDir, apiKey, port = 0, onStderr = () => {} }) {
  const proc = spawn(process.execPath, [serverJs, '--host', '127.0.0.1', '--port', String(port), '--data', dataDir, '--api-key', apiKey], {
    cwd: path.dirname(dataDir), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stderr.on('data', (d) => { out += d; onStderr(d); });
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the sync server did not print "listening on" within 30 s: ${out}`)), 30_000);
      proc.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      proc.on('exit', (c, sig) => { clearTimeout(timer); reject(new Error(`the sync server exited (${c ?? sig}): ${out}`)); });
    });
    // From here on its stdout is the access log: drained, not kept.
    proc.stdout.removeAllListeners('data');
    proc.stdout.resume();
    return { proc, url };
  } catch (err) {
    killGroup(proc.pid, 'SIGKILL');
    throw err;
  }
}

/** Debian's Chromium through playwright-core (launchServer: we know its pid to stop it). */
export async function launchChromium() {
  const { chromium } = playwright();
  const browserServer = await chromium.launchServer({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const browser = await chromium.connect(browserServer.wsEndpoint());
  return { browserServer, browser };
}

export async function closeChromium({ browserServer, browser }) {
  if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
  if (browserServer) {
    const pid = browserServer.process().pid;
    await Promise.race([browserServer.close().catch(() => {}), sleep(5000)]);
    if (pid && alive(pid)) killGroup(pid, 'SIGKILL');
  }
}

/**
 * The workbench URL: a folder (`folder`) or a .code-workspace file (`workspace`), and the
 * development payload (extensionDevelopmentPath, and extensionTestsPath for the suite).
 */
export function workbenchUrl(server, { folder, workspace, payload }) {
  const q = folder ? `folder=${encodeURIComponent(folder)}` : `workspace=${encodeURIComponent(workspace)}`;
  const pl = Object.entries(payload).map(([k, v]) => [k, server.remote(v)]);
  return `${server.origin}/?${q}&payload=${encodeURIComponent(JSON.stringify(pl))}`;
}

// ---------------------------------------------------------------- the extension host's console
// The extension host sends its console to the workbench as RPC calls
// `$logExtensionHostMessage({type:'__$console', severity, arguments})` over the WebSocket: the
// method name, a 4-byte big-endian length, then that many bytes of JSON args (VS Code's wire
// format; the version is pinned). `onEntry(severity, text)` gets each console call.
const MARKER = Buffer.from('$logExtensionHostMessage');

export function watchExtHostConsole(ws, onEntry) {
  let buf = Buffer.alloc(0);
  ws.on('framereceived', ({ payload }) => {
    buf = Buffer.concat([buf, typeof payload === 'string' ? Buffer.from(payload) : payload]);
    for (;;) {
      const i = buf.indexOf(MARKER);
      if (i < 0) { buf = buf.subarray(Math.max(0, buf.length - MARKER.length)); return; }
      const start = i + MARKER.length + 4;
      if (buf.length < start) { buf = buf.subarray(i); return; }
      const len = buf.readUInt32BE(i + MARKER.length);
      if (buf.length < start + len) { buf = buf.subarray(i); return; }
      try {
        for (const entry of JSON.parse(buf.subarray(start, start + len).toString('utf8'))) {
          if (entry?.type !== '__$console') continue;
          let a;
          try { a = JSON.parse(entry.arguments); } catch { a = [String(entry.arguments)]; }
          onEntry(entry.severity, a.length ? format(...a) : '');
        }
      } catch { /* not a console call after all */ }
      buf = buf.subarray(start + len);
    }
  });
}

/**
 * Counts the workbench's calls of an extension host RPC method (e.g. `$getChildren` of the tree
 * views) sent over the WebSocket: proof that the extension was asked, not a cache.
 */
export function countSentCalls(ws, method, counter) {
  const marker = Buffer.from(method);
  ws.on('framesent', ({ payload }) => {
    const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
    for (let i = b.indexOf(marker); i >= 0; i = b.indexOf(marker, i + marker.length)) counter.count++;
  });
}

// ---------------------------------------------------------------- the workbench, as a person drives it
// (the UI checks and the npm start test both use these)

const WORKBENCH_WAIT = 30_000; // generous: these machines are slow
export const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
export const quickInput = (page) => page.locator('.quick-input-widget');

/** Clicks the quick-pick row whose label is exactly `label`. */
export async function pickRow(page, label, timeout = WORKBENCH_WAIT) {
  const row = quickInput(page).locator('.monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(label)}$`) }) }).first();
  await row.waitFor({ state: 'visible', timeout });
  await row.click();
}

/**
 * Runs a command from the palette (F1) as typed by a person: clicks the row with its title.
 * Something can take the focus while the palette is up, which closes it (a sync cycle refreshing
 * an open editor was seen; CI once saw the palette close right after F1). Then it opens the
 * palette again (up to three times) rather than type elsewhere, and tells `log` where focus went
 * (see trackFocus).
 */
export async function runCommand(page, title, log) {
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = quickInput(page).locator('input.input');
    try {
      await input.waitFor({ state: 'visible', timeout: WORKBENCH_WAIT });
      await input.fill(`>${title}`, { timeout: attempt < 3 ? 5000 : WORKBENCH_WAIT });
      await pickRow(page, title, attempt < 3 ? 5000 : WORKBENCH_WAIT);
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      log(`the palette closed before "${title}" was picked (attempt ${attempt}); the last focus changes: ${(await focusChanges(page)).join(' | ')}`);
    }
  }
}

/** Records every focus change of a workbench page from its next load on (see focusChanges). */
export async function trackFocus(page) {
  await page.addInitScript(() => {
    const log = (window.__wjFocus = []);
    const describe = (el) => {
      if (!el || !el.tagName) return '(none)';
      const label = el.getAttribute('aria-label');
      return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${[...el.classList].slice(0, 3).map((c) => `.${c}`).join('')}${label ? ` "${label.slice(0, 60)}"` : ''}`;
    };
    document.addEventListener('focusin', (e) => {
      log.push(`${Math.round(performance.now())}ms ${describe(e.target)}`);
      if (log.length > 12) log.shift();
    }, true);
  });
}

/** The page's last focus changes, oldest first, with the time each happened. */
export async function focusChanges(page) {
  return page.evaluate(() => [...(window.__wjFocus ?? []), `now ${Math.round(performance.now())}ms`]).catch(() => ['(unknown)']);
}
