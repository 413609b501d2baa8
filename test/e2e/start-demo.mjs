#!/usr/bin/env node
// `npm start`, end to end, in the real VS Code (node test/e2e/start-demo.mjs):
//
//  1. runs `node scripts/start.mjs --port <free> --sync-port <free>` (its own process group) with
//     WISEJSON_DEMO_DIR = a fresh temporary folder, waits for its "WiseJSON is running" block and
//     reads the two window URLs and the sync server URL from it;
//  2. the extension installed from the .vsix (no extensionDevelopmentPath: the only copy VS Code
//     can load is the one in the extensions folder) activates: its files are the ones just built,
//     the WiseJSON view shows .wisejson with notes and tasks, the status bar reaches
//     "WiseJSON: live" (npm start's own Enable Sync), Developer: Show Running Extensions shows
//     it activated, and no "Cannot find module" anywhere (extension host console, notifications,
//     any log file of the demo folder);
//  3. two windows (two tabs of one Chromium), each on its own database, synced through that
//     server: a document inserted in window 1 through the palette (Insert Document, type, Ctrl+S)
//     shows in window 2's tree, and one inserted in window 2 shows in window 1's (Trigger Sync
//     from the palette only if it has not arrived within 15 s);
//  4. Ctrl+C (SIGINT to its process group, as a terminal sends it) stops everything: start.mjs
//     exits 0, both ports refuse connections, no process it started is alive;
//  5. a second `npm start` on the same folder and ports reuses the cache; both start times are
//     measured (artifacts/start-figures.json); SIGINT again.
// Exit 0 when every check passes; otherwise artifacts/start-failure.png and exit 1. Everything it
// started is stopped by pid / process group at the end, on a failure and on the timeout
// (E2E_TIMEOUT_MS, default 300000). E2E_KEEP=1 keeps the temporary demo folder.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, createWriteStream, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  alive, ARTIFACTS, closeChromium, escapeRe, EXTENSION_ID, freePort, launchChromium, quickInput, rel, ROOT, runCommand as runPaletteCommand, sleep, watchExtHostConsole,
} from './harness.mjs';

const T0 = Date.now();
const secs = () => ((Date.now() - T0) / 1000).toFixed(1);
const say = (msg) => console.log(`[start-demo ${secs()}s] ${msg}`);
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 300_000);
const WAIT = 30_000;
const SHOT = (name) => path.join(ARTIFACTS, name);
mkdirSync(ARTIFACTS, { recursive: true });

class CheckFailed extends Error {}
const checks = [];
function check(name, ok, detail = '') {
  checks.push({ name, ok: !!ok, detail });
  if (!ok) throw new CheckFailed(`${name}${detail ? `: ${detail}` : ''}`);
  say(`ok  ${name}${detail ? ` (${detail})` : ''}`);
}

const figures = { date: new Date().toISOString(), machine: `${os.cpus().length} CPUs`, checks };
const demoDir = mkdtempSync(path.join(os.tmpdir(), 'wisejson-start-demo-'));
const outLog = createWriteStream(SHOT('start-demo-output.log'));
const extHostLog = createWriteStream(SHOT('start-demo-exthost.log'));

// ---------------------------------------------------------------- what we started
const starts = []; // { proc, pgid, descendants: Set<pid> }
let chromium = null;
let pages = [];

/** Every process below `pid` (and it), read from ps: pid → pgid. */
function processTree(pid) {
  const r = spawnSync('ps', ['-eo', 'pid=,ppid=,pgid='], { encoding: 'utf8' });
  const rows = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const out = new Map([[pid, rows.find(([p]) => p === pid)?.[2] ?? pid]]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, pp, pg] of rows) if (out.has(pp) && !out.has(p)) { out.set(p, pg); grew = true; }
  }
  return out;
}
const groupAlive = (pgid) => { try { process.kill(-pgid, 0); return true; } catch { return false; } };

/** Notes the processes of a run (its children lead their own process groups). */
function remember(run) {
  if (!run.proc.pid) return;
  for (const [p, g] of processTree(run.proc.pid)) run.known.set(p, g);
}

async function killRun(run) {
  remember(run);
  const groups = new Set([run.proc.pid, ...run.known.values()]);
  for (const g of groups) { try { process.kill(-g, 'SIGTERM'); } catch { /* gone */ } }
  for (let i = 0; i < 30 && [...groups].some(groupAlive); i++) await sleep(100);
  for (const g of groups) { try { process.kill(-g, 'SIGKILL'); } catch { /* gone */ } }
  for (const p of run.known.keys()) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
}

let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    if (chromium) await closeChromium(chromium).catch(() => {});
    for (const run of starts) await killRun(run).catch(() => {});
    outLog.end();
    extHostLog.end();
    if (process.env.E2E_KEEP !== '1') rmSync(demoDir, { recursive: true, force: true });
    else say(`kept ${demoDir}`);
  })();
  return cleaning;
}

async function fail(msg) {
  say(msg);
  figures.failure = msg;
  const page = pages.find((p) => !p.isClosed());
  if (page) await page.screenshot({ path: SHOT('start-failure.png'), timeout: 10_000 }).then(() => say(`screenshot: ${rel(SHOT('start-failure.png'))}`), () => {});
  writeFigures();
  await cleanup();
  process.exit(1);
}

function writeFigures() {
  figures.totalS = Number(secs());
  writeFileSync(SHOT('start-figures.json'), JSON.stringify(figures, null, 2) + '\n');
}

const timer = setTimeout(() => void fail(`TIMEOUT: not done within ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void fail(`interrupted (${sig})`));

// ---------------------------------------------------------------- npm start
/** Starts scripts/start.mjs in its own process group; resolves once its "running" block is out. */
async function npmStart(label, ports) {
  const started = Date.now();
  const proc = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.mjs'), '--port', String(ports.vscode), '--sync-port', String(ports.sync)], {
    cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WISEJSON_DEMO_DIR: demoDir },
  });
  const run = { label, proc, known: new Map(), out: '', exit: null };
  starts.push(run);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => { run.exit = { code, signal }; resolve(run.exit); }));
  run.exited = exited;
  for (const [s, name] of [[proc.stdout, 'out'], [proc.stderr, 'err']]) {
    s.setEncoding('utf8');
    s.on('data', (d) => { run.out += d; outLog.write(d.replace(/^/gm, `[${label} ${name}] `)); });
  }
  const block = await Promise.race([
    (async () => {
      for (;;) {
        const i = run.out.indexOf('WiseJSON is running');
        if (i >= 0 && /Ctrl\+C stops everything/.test(run.out.slice(i))) return run.out.slice(i);
        await sleep(100);
      }
    })(),
    exited.then((e) => { throw new CheckFailed(`${label}: start.mjs exited (${e.code ?? e.signal}) before it was running:\n${run.out}`); }),
    sleep(150_000).then(() => { throw new CheckFailed(`${label}: no "WiseJSON is running" within 150 s:\n${run.out}`); }),
  ]);
  run.ms = Date.now() - started;
  run.reported = Number(/ready in ([\d.]+) s/.exec(block)?.[1]);
  run.window1 = /window 1: (http\S+)/.exec(block)?.[1];
  run.window2 = /window 2: (http\S+)/.exec(block)?.[1];
  run.syncUrl = /sync server: (http\S+)/.exec(block)?.[1];
  remember(run);
  return run;
}

/** Ctrl+C in the terminal: SIGINT to the foreground process group. */
async function ctrlC(run, ports) {
  remember(run);
  const known = new Map(run.known);
  process.kill(-run.proc.pid, 'SIGINT');
  const e = await Promise.race([run.exited, sleep(20_000).then(() => null)]);
  check(`${run.label}: Ctrl+C → start.mjs exits 0`, e && e.code === 0, e ? `code ${e.code}, signal ${e.signal}` : 'still running after 20 s');
  const refused = [];
  for (const [what, port] of Object.entries(ports)) refused.push(`${what} ${port}: ${await connectResult(port)}`);
  check(`${run.label}: both ports refuse connections`, refused.every((r) => r.endsWith('ECONNREFUSED')), refused.join(', '));
  let left = [];
  for (let i = 0; i < 50; i++) {
    left = [...known].filter(([p, g]) => alive(p) || groupAlive(g));
    if (left.length === 0) break;
    await sleep(100);
  }
  check(`${run.label}: no process it started is alive`, left.length === 0,
    left.length ? `alive: ${left.map(([p, g]) => `${p} (group ${g})`).join(', ')}` : `${known.size} processes (start.mjs, sync server, VS Code server and its children) gone, their groups too`);
}

function connectResult(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(3000);
    s.once('connect', () => { s.destroy(); resolve('CONNECTED'); });
    s.once('timeout', () => { s.destroy(); resolve('TIMEOUT'); });
    s.once('error', (err) => resolve(err.code));
  });
}

// ---------------------------------------------------------------- workbench helpers
const tree = (page) => page.locator('[role="tree"][aria-label="Databases"]');
const treeRow = (page, label) => tree(page).locator(`.monaco-list-row[aria-label^="${label}"]`);
const dbRow = (page) => tree(page).locator('.monaco-list-row .label-name', { hasText: /^\.wisejson$/ });
const treeRows = (page) => tree(page).locator('.monaco-list-row').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
const statusText = (page) => page.evaluate(() => document.querySelector('.statusbar-item[id$="wisejson.sync"]')?.innerText.trim() ?? '(none)');

/** Runs a command from the palette (see harness.mjs), saying in this log when it had to retry. */
const runCommand = (page, title) => runPaletteCommand(page, title, say);

/** Opens the WiseJSON activity-bar view of a window once its workbench is up. */
async function openWiseJsonView(page) {
  const entry = page.locator('.activitybar a.action-label[aria-label="WiseJSON"]');
  await entry.waitFor({ state: 'visible', timeout: 90_000 });
  if (!(await tree(page).isVisible())) await entry.click();
  await tree(page).waitFor({ state: 'visible', timeout: WAIT });
  // Room for the tree: collapse the Sync view, as a person would.
  const syncHeader = page.locator('.pane-header[aria-label^="Sync"]');
  if (await syncHeader.count() && (await syncHeader.getAttribute('aria-expanded')) === 'true') await syncHeader.click();
}

async function waitForStatus(page, re, timeout) {
  await page.waitForFunction((src) => new RegExp(src).test(document.querySelector('.statusbar-item[id$="wisejson.sync"]')?.innerText ?? ''), re.source, { timeout });
}

/** Expands a collection row of the tree (if it is not; a refresh right after a write may fold it). */
async function expand(page, label) {
  const r = treeRow(page, label);
  await r.waitFor({ state: 'visible', timeout: WAIT });
  if ((await r.getAttribute('aria-expanded')) === 'true') return;
  await r.locator('.monaco-tl-twistie').click();
  await page.waitForFunction((l) => document.querySelector(`[role="tree"][aria-label="Databases"] .monaco-list-row[aria-label^="${l}"]`)?.getAttribute('aria-expanded') === 'true', label, { timeout: 5_000 }).catch(() => {});
}

/** Waits until a row with `text` shows under the collection `label`, unfolding it as needed. */
async function waitForDocRow(page, label, text, timeout = WAIT) {
  const docRow = tree(page).locator('.monaco-list-row', { hasText: text });
  for (const end = Date.now() + timeout; ;) {
    await expand(page, label);
    if (await docRow.count()) return;
    if (Date.now() > end) throw new CheckFailed(`no row "${text}" under ${label.trim()}; the tree: ${(await treeRows(page)).join(' | ')}`);
    await sleep(500);
  }
}

/**
 * Insert Document from the palette into `collection`: pick it, select all in the new JSON editor,
 * put the document in, Ctrl+S. Resolves with the time of the save.
 */
async function insertThroughUi(page, collection, json) {
  await runCommand(page, 'WiseJSON: Insert Document');
  const qi = quickInput(page);
  await qi.locator('.quick-input-title', { hasText: 'Which collection' }).waitFor({ state: 'visible', timeout: WAIT });
  const pick = qi.locator('.monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${escapeRe(collection)}$`) }) }).first();
  await pick.waitFor({ state: 'visible', timeout: WAIT });
  await pick.click();
  const tab = page.locator('.tabs-container .tab.active', { hasText: /New Document \d+\.json/ });
  await tab.waitFor({ state: 'visible', timeout: WAIT });
  await page.waitForFunction(() => !!document.activeElement?.closest('.editor-instance .monaco-editor'), null, { timeout: WAIT });
  // The editor can take focus before the provider's template arrives: select all only once it shows.
  await page.waitForFunction(() => /\{/.test(document.querySelector('.editor-instance .monaco-editor .view-lines')?.textContent ?? ''), null, { timeout: WAIT });
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Backspace');
  // As pasted (typed key by key, the editor's auto-closing brackets and quotes get in the way).
  await page.keyboard.insertText(json);
  const typed = await page.waitForFunction((want) => {
    const lines = document.querySelector('.editor-instance .monaco-editor .view-lines');
    const text = lines?.innerText.replace(/\u00a0/g, ' ').replace(/\s+/g, '') ?? '';
    return text === want.replace(/\s+/g, '') ? text : false;
  }, json, { timeout: 5_000 }).then((h) => h.jsonValue(), async () => page.locator('.editor-instance .monaco-editor .view-lines').first().innerText());
  check(`the new JSON editor holds what was typed`, typeof typed === 'string' && typed.replace(/\s+/g, '') === json.replace(/\s+/g, ''), typed);
  // Close the JSON suggestion box, if any, before saving.
  const suggest = page.locator('.editor-widget.suggest-widget.visible');
  if (await suggest.count()) await page.keyboard.press('Escape');
  await page.keyboard.press('ControlOrMeta+S');
  const saved = Date.now();
  // Saved: the editor reopens as the inserted document, under its _id.
  await page.locator('.tabs-container .tab.active').filter({ hasNotText: /New Document/ }).waitFor({ state: 'visible', timeout: WAIT });
  const title = (await page.locator('.tabs-container .tab.active .label-name').first().innerText()).trim();
  return { saved, tab: title };
}

/**
 * Arms an observer in `page` that notes when a tree row with `text` first shows (the wall clock,
 * as Date.now() in this process gives it), so the other window's own waits do not add to the
 * figure. Read it with {@link rowSeenAt}.
 */
async function watchForRow(page, text) {
  await page.evaluate((want) => {
    const seen = (window.__wjRowSeen ??= {});
    const look = () => {
      if (seen[want]) return true;
      const rows = document.querySelectorAll('[role="tree"][aria-label="Databases"] .monaco-list-row');
      for (const r of rows) if (r.textContent.includes(want)) { seen[want] = performance.timeOrigin + performance.now(); return true; }
      return false;
    };
    if (look()) return;
    const obs = new MutationObserver(() => { if (look()) obs.disconnect(); });
    obs.observe(document.body, { childList: true, subtree: true, characterData: true });
  }, text);
}

/** When the row `text` armed by {@link watchForRow} first showed (ms since the epoch), or null. */
async function rowSeenAt(page, text) {
  return page.evaluate((want) => window.__wjRowSeen?.[want] ?? null, text);
}

/**
 * Waits until `text` shows in a document row of `collection` in the other window's tree; runs
 * WiseJSON: Trigger Sync from its palette if it has not arrived within `patienceMs`.
 */
async function waitForSynced(page, collection, text, patienceMs) {
  const docRow = tree(page).locator('.monaco-list-row', { hasText: text });
  const deadline = Date.now() + patienceMs;
  let triggered = false;
  for (;;) {
    if (await treeRow(page, `${collection} `).count()) {
      await expand(page, `${collection} `);
      if (await docRow.count()) return { triggered };
    }
    if (!triggered && Date.now() > deadline) {
      say(`not there after ${patienceMs / 1000} s: WiseJSON: Trigger Sync in the other window`);
      await runCommand(page, 'WiseJSON: Trigger Sync');
      triggered = true;
    }
    if (Date.now() > deadline + 30_000) {
      const rows = await treeRows(page);
      throw new CheckFailed(`"${text}" did not show in ${collection} within ${patienceMs / 1000} s + 30 s after Trigger Sync; the tree: ${rows.join(' | ')}; status: ${await statusText(page)}`);
    }
    await sleep(250);
  }
}

/** Every *.log below `dir`. */
function logFiles(dir) {
  const out = [];
  const walk = (d) => {
    let entries;
    try { entries = readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { if (!/^workspace-|^sync-data$|^extensions$/.test(e.name) || d !== demoDir) walk(p); } else if (/\.log$/.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

// ---------------------------------------------------------------- the run
try {
  const vscodePort = await freePort();
  let syncPort = await freePort();
  while (syncPort === vscodePort) syncPort = await freePort();
  const ports = { vscode: vscodePort, sync: syncPort };
  say(`demo folder ${demoDir}; ports: VS Code ${vscodePort}, sync server ${syncPort}`);

  // 1. npm start.
  say('npm start (node scripts/start.mjs): build, package, VS Code server, sync server, demo workspaces');
  const first = await npmStart('first start', ports);
  figures.firstStart = { ms: first.ms, reportedS: first.reported };
  say(`"WiseJSON is running" after ${(first.ms / 1000).toFixed(1)} s (it says: ready in ${first.reported} s)`);
  check('the running block names window 1, window 2 and the sync server', first.window1 && first.window2 && first.syncUrl,
    `${first.window1} | ${first.window2} | ${first.syncUrl}`);
  check('window URLs open workspace-a and workspace-b of the demo folder',
    decodeURIComponent(first.window1).endsWith(`folder=${path.join(demoDir, 'workspace-a')}`) && decodeURIComponent(first.window2).endsWith(`folder=${path.join(demoDir, 'workspace-b')}`)
    && new URL(first.window1).port === String(vscodePort) && new URL(first.syncUrl).port === String(syncPort));
  const health = await fetch(new URL('/v1/health', first.syncUrl), { signal: AbortSignal.timeout(5000) }).then((r) => r.status, (e) => e.message);
  check('the sync server answers /v1/health', health === 200, `HTTP ${health}`);

  // 2. The installed extension: the files of this build, nothing missing.
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const extDir = path.join(demoDir, 'extensions', `${EXTENSION_ID}-${pkg.version}`);
  const registered = JSON.parse(readFileSync(path.join(demoDir, 'extensions', 'extensions.json'), 'utf8'));
  const entry = registered.find((e) => e.identifier?.id === EXTENSION_ID);
  check('the .vsix is installed in the extensions folder', entry && entry.version === pkg.version && existsSync(path.join(extDir, 'package.json')),
    entry ? `${entry.identifier.id}@${entry.version} in ${rel(extDir)}` : 'not in extensions.json');
  const main = path.join(extDir, `${pkg.main.replace(/^\.\//, '')}${pkg.main.endsWith('.js') ? '' : '.js'}`);
  check('the installed main is the one just built', existsSync(main) && readFileSync(main).equals(readFileSync(path.join(ROOT, pkg.main.endsWith('.js') ? pkg.main : `${pkg.main}.js`))),
    `${rel(main)}, ${existsSync(main) ? statSync(main).size : 0} bytes`);
  const relRequires = [...readFileSync(main, 'utf8').matchAll(/require\(["'](\.{1,2}\/[^"']+)["']\)/g)].map((m) => m[1]);
  const missing = relRequires.filter((r) => !['', '.js', '.json', '/index.js'].some((x) => existsSync(path.resolve(path.dirname(main), r + x))));
  // And the files it loads at run time (the timeline webview's script and style).
  const assets = [...readFileSync(main, 'utf8').matchAll(/joinPath\(this\.extensionUri,((?:"[^"]+",?)+)\)/g)].map((m) => JSON.parse(`[${m[1]}]`).join('/'));
  missing.push(...assets.filter((a) => !existsSync(path.join(extDir, a))));
  check('every file the installed main requires or loads is in the installed copy', missing.length === 0 && assets.length > 0,
    missing.length ? `missing: ${missing.join(', ')}` : `${relRequires.length} relative require(s); ${assets.join(', ')}`);

  chromium = await launchChromium();
  const context = await chromium.browser.newContext({ viewport: { width: 1400, height: 900 } });
  const extHostText = [];
  const openWindow = async (n, url) => {
    const page = await context.newPage();
    pages.push(page);
    page.on('websocket', (ws) => watchExtHostConsole(ws, (severity, text) => {
      extHostText.push(text);
      extHostLog.write(`[window ${n} ${severity}] ${text}\n`);
    }));
    page.on('console', (m) => { if (m.type() === 'error') extHostLog.write(`[window ${n} browser error] ${m.text()}\n`); });
    await page.goto(url);
    return page;
  };

  const w1 = await openWindow(1, first.window1);
  say('window 1 (workspace-a) opened');
  await openWiseJsonView(w1);
  await treeRow(w1, 'notes ').waitFor({ state: 'visible', timeout: 60_000 });
  const rows1 = await treeRows(w1);
  check('window 1: the WiseJSON view shows .wisejson with notes and tasks',
    (await dbRow(w1).count()) === 1 && rows1.some((r) => r.startsWith('notes ')) && rows1.some((r) => r.startsWith('tasks ')), rows1.join(' | '));
  await waitForStatus(w1, /WiseJSON: live/, 60_000);
  check('window 1: the status bar reaches "WiseJSON: live" (npm start\'s Enable Sync)', true, await statusText(w1));

  await runCommand(w1, 'Developer: Show Running Extensions');
  const extRow = w1.locator('.runtime-extensions-editor .monaco-list-row', { hasText: 'WiseJSON' }).first();
  await extRow.waitFor({ state: 'visible', timeout: WAIT });
  const extRowText = (await extRow.innerText()).replace(/\s+/g, ' ').trim();
  const act = /(\d+(?:\.\d+)?)\s*ms/.exec(extRowText);
  figures.activation = { runningExtensions: act ? `${act[1]} ms` : null, row: extRowText };
  check('Developer: Show Running Extensions: WiseJSON activated, no error', act && !/error|fail|cannot/i.test(extRowText), extRowText);
  await w1.keyboard.press('Escape');
  // A command that loads files of the installed copy: the timeline webview (script and style).
  await runCommand(w1, 'WiseJSON: Open Sync Timeline');
  const webview = w1.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
  await webview.locator('ol.entries li.entry').first().waitFor({ state: 'visible', timeout: WAIT });
  const kinds = [...new Set(await webview.locator('ol.entries .badge').allInnerTexts())];
  check('WiseJSON: Open Sync Timeline (installed copy) shows the dev bootstrap\'s sync', kinds.includes('success'), kinds.join(', '));
  // Close the Running Extensions editor (Ctrl+W would close the tab in the browser: use the command).
  await runCommand(w1, 'View: Close All Editors');

  // 3. Window 2, and an edit in each window.
  const w2 = await openWindow(2, first.window2);
  say('window 2 (workspace-b) opened');
  await openWiseJsonView(w2);
  await treeRow(w2, 'users ').waitFor({ state: 'visible', timeout: 60_000 });
  const rows2 = await treeRows(w2);
  check('window 2: the WiseJSON view shows .wisejson with users', (await dbRow(w2).count()) === 1 && rows2.some((r) => r.startsWith('users ')), rows2.join(' | '));
  await waitForStatus(w2, /WiseJSON: live/, 60_000);
  check('window 2: the status bar reaches "WiseJSON: live"', true, await statusText(w2));

  // The demo's sample notes of workspace-a reach workspace-b through the server.
  await w2.waitForFunction(() => /^notes [5-9] documents/.test(document.querySelector('[role="tree"][aria-label="Databases"] .monaco-list-row[aria-label^="notes "]')?.getAttribute('aria-label') ?? ''), null, { timeout: 45_000 })
    .catch(async () => { throw new CheckFailed(`window 2 did not get workspace-a's notes; the tree: ${(await treeRows(w2)).join(' | ')}`); });
  check('window 2: notes holds workspace-a\'s sample notes (pulled by sync)', true, (await treeRows(w2)).find((r) => r.startsWith('notes ')));

  // Each window shows the collection the other inserts into, as a person watching would.
  await w2.bringToFront();
  await expand(w2, 'notes ');
  await watchForRow(w2, 'from window 1');
  await w1.bringToFront();
  await expand(w1, 'users ');
  await watchForRow(w1, 'from window 2');
  const ins1 = await insertThroughUi(w1, 'notes', '{"title": "from window 1"}');
  say(`window 1: inserted into notes through Insert Document + Ctrl+S (now the tab ${ins1.tab})`);
  await waitForDocRow(w1, 'notes ', 'from window 1');
  await w2.bringToFront();
  const got2 = await waitForSynced(w2, 'notes', 'from window 1', 15_000);
  const ms12 = Math.round(((await rowSeenAt(w2, 'from window 1')) ?? Date.now()) - ins1.saved);
  figures.window1ToWindow2 = { ms: ms12, triggerSyncNeeded: got2.triggered };
  check('window 2 shows the document inserted in window 1 (notes, pulled by sync)', true, `${(ms12 / 1000).toFixed(1)} s after Ctrl+S${got2.triggered ? ', after Trigger Sync' : ', no Trigger Sync needed'}`);

  const ins2 = await insertThroughUi(w2, 'users', '{"name": "from window 2"}');
  say(`window 2: inserted into users (now the tab ${ins2.tab})`);
  await w1.bringToFront();
  const got1 = await waitForSynced(w1, 'users', 'from window 2', 15_000);
  const ms21 = Math.round(((await rowSeenAt(w1, 'from window 2')) ?? Date.now()) - ins2.saved);
  figures.window2ToWindow1 = { ms: ms21, triggerSyncNeeded: got1.triggered };
  check('window 1 shows the document inserted in window 2 (users)', true, `${(ms21 / 1000).toFixed(1)} s after Ctrl+S${got1.triggered ? ', after Trigger Sync' : ', no Trigger Sync needed'}`);

  for (const [page, name] of [[w1, 'two-windows-1.png'], [w2, 'two-windows-2.png']]) {
    await page.bringToFront();
    await page.mouse.move(900, 500);
    await page.screenshot({ path: SHOT(name) });
    say(`screenshot: ${rel(SHOT(name))}`);
  }

  // No "Cannot find module" (or failed activation) anywhere we can read.
  const toasts = (await Promise.all(pages.map((p) => p.locator('.notifications-toasts, .notifications-center').allInnerTexts()))).flat().join('\n');
  const logs = logFiles(demoDir);
  const badLogs = logs.filter((f) => /Cannot find module/.test(readFileSync(f, 'utf8')));
  const badConsole = extHostText.filter((t) => /Cannot find module|Activating extension .* failed/i.test(t));
  check('no "Cannot find module" / failed activation: extension host console, notifications, log files',
    badConsole.length === 0 && !/Cannot find module|failed to activate|Activating extension/i.test(toasts) && badLogs.length === 0,
    `${extHostText.length} console lines, ${logs.length} log file(s)${logs.length ? ` (${logs.map((f) => path.relative(demoDir, f)).slice(0, 4).join(', ')}…)` : ' (VS Code writes none here: its log writer is a native module)'}${badConsole.length ? `; console: ${badConsole[0]}` : ''}${badLogs.length ? `; in ${badLogs.join(', ')}` : ''}`);

  check('no question about sync turned on by settings: npm start\'s own connection is the consent',
    !/turn on WiseJSON sync/.test(toasts), toasts.trim() ? `notifications: ${toasts.trim().split('\n')[0].slice(0, 120)}` : 'no notification');

  // 4. Ctrl+C.
  await ctrlC(first, ports);
  await closeChromium(chromium);
  chromium = null;
  pages = [];

  // 5. Again, from the cache.
  const second = await npmStart('second start', ports);
  figures.secondStart = { ms: second.ms, reportedS: second.reported };
  say(`second start: "WiseJSON is running" after ${(second.ms / 1000).toFixed(1)} s (it says: ready in ${second.reported} s)`);
  check('second start reuses the cache (provisioned VS Code, seeded workspaces) and is ready in seconds',
    /\[provision\] cached/.test(second.out) && !/seeded /.test(second.out) && second.ms < 60_000 && second.window1 === first.window1,
    `${(second.ms / 1000).toFixed(1)} s vs ${(first.ms / 1000).toFixed(1)} s the first time`);
  const vs = await fetch(second.window1, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, (e) => e.message);
  check('second start: VS Code answers', vs === 200, `HTTP ${vs}`);
  await ctrlC(second, ports);

  clearTimeout(timer);
  say(`figures: first start ${(first.ms / 1000).toFixed(1)} s, second start ${(second.ms / 1000).toFixed(1)} s, `
    + `window 1 → 2 ${(ms12 / 1000).toFixed(1)} s, window 2 → 1 ${(ms21 / 1000).toFixed(1)} s (${rel(SHOT('start-figures.json'))})`);
  say(`all ${checks.length} checks passed in ${secs()} s`);
  writeFigures();
  await cleanup();
  process.exit(0);
} catch (err) {
  await fail(err instanceof CheckFailed ? `CHECK FAILED: ${err.message}` : `ERROR: ${err.stack ?? err}`);
}
