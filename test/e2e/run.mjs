#!/usr/bin/env node
// Runs, in a REAL VS Code without downloading desktop VS Code:
//  1. the extension-host test suite (out/test/extension/index.js, the same `run()` that
//     @vscode/test-electron calls): the VS Code server shipped in the npm package code-server
//     (provisioned by ./provision.mjs, run on Node 24) serves the workbench, Debian's Chromium
//     (driven by playwright-core) opens it with our extension under development and the test
//     module, and the workbench hands the test run's exit code back through
//     window.codeAutomationExit (--enable-smoke-test-driver);
//  2. the untrusted-workspace suite (out/test/extension/untrusted): a second VS Code server with
//     workspace trust on opens a seeded folder in Restricted Mode whose settings name database
//     folders inside and outside it; afterwards not a byte of those folders may have changed;
//  3. then the UI checks of ./ui.mjs in the same VS Code server and Chromium: a person's clicks
//     and keystrokes on a seeded workspace and a real sync server, with screenshots and figures.
//
//   node test/e2e/run.mjs            (build first: npm run build && npm run compile-tests)
//   node test/e2e/run.mjs --build    builds the extension and the tests first
//   node test/e2e/run.mjs --no-ui    only the extension-host suite
//   node test/e2e/run.mjs --ui-only  only the UI checks
//   node test/e2e/run.mjs --update-screenshots  also copies the README's screenshots from a
//                                               passing UI run to media/screenshots/
//   node test/e2e/run.mjs --verbose  also echoes the VS Code server's and the workbench's logs
//   node test/e2e/run.mjs --no-retry no second run of the UI checks after a failure
//
// Env: E2E_TIMEOUT_MS (default 300000), E2E_CHROMIUM (default /usr/bin/chromium),
//      E2E_KEEP=1 keeps the temporary server/user/workspace folders.
// Output: the extension host's console (mocha's report) on stdout/stderr, then the UI checks'
// lines ([ui] …); test/e2e/artifacts/ gets workbench.png, the UI screenshots and figures
// (ui-figures.json), server.log, browser-console.log and the workbench's own log files.
// A failed UI run is run once more in a fresh workspace and browser context (a step that raced
// the workbench passes, a broken one fails again); the first failure stays in the log.
// Exit code: the test run's exit code, else 1 if a UI check failed twice; 1 for a failure of the
// harness or a timeout.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { provision } from './provision.mjs';
import {
  ARTIFACTS, CHROMIUM, closeChromium, EXTENSION_ID, launchChromium, rel, ROOT, say, secs, startVsCodeServer,
  stopGroup, watchExtHostConsole, workbenchUrl,
} from './harness.mjs';

const args = new Set(process.argv.slice(2));
for (const a of args) {
  if (!['--build', '--verbose', '--no-ui', '--ui-only', '--no-retry', '--update-screenshots'].includes(a)) {
    console.error(`[e2e] unknown option ${a} (options: --build --verbose --no-ui --ui-only --no-retry --update-screenshots)`);
    process.exit(2);
  }
}
const VERBOSE = args.has('--verbose');
const RUN_SUITE = !args.has('--ui-only');
const RUN_UI = !args.has('--no-ui');
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 300_000);
const TESTS_DIR = path.join(ROOT, 'out', 'test', 'extension');

// ---------------------------------------------------------------- preconditions
if (!existsSync(CHROMIUM) && CHROMIUM === '/usr/bin/chromium' && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
  // `npm test` is all the set-up there is: as root on Debian, bring Debian's Chromium in.
  say('Chromium is missing: apt-get install -y chromium');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const a of [['update'], ['install', '-y', '--no-install-recommends', 'chromium']]) {
    const r = spawnSync('apt-get', a, { stdio: 'inherit', env });
    if (r.status !== 0) break;
  }
}
if (!existsSync(CHROMIUM)) {
  console.error(`[e2e] Chromium not found at ${CHROMIUM}. Install it (as root):\n    apt-get update && apt-get install -y chromium`);
  process.exit(1);
}
if (args.has('--build')) {
  for (const [cmd, a] of [['node', ['esbuild.mjs']], ['npx', ['tsc', '-p', 'tsconfig.test.json']]]) {
    say(`$ ${cmd} ${a.join(' ')}`);
    const r = spawnSync(cmd, a, { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) process.exit(1);
  }
}
const needed = [path.join(ROOT, 'dist', 'extension.js')];
if (RUN_SUITE) needed.push(path.join(TESTS_DIR, 'index.js'), path.join(TESTS_DIR, 'untrusted', 'index.js'), path.join(ROOT, 'dist', 'wise-json.js'));
if (RUN_UI) needed.push(path.join(ROOT, 'dist', 'wise-json.js'), path.join(ROOT, 'dist', 'server.js'));
for (const f of needed) {
  if (!existsSync(f)) {
    console.error(`[e2e] missing ${rel(f)}: build first (npm run build && npm run compile-tests, or pass --build)`);
    process.exit(1);
  }
}

const paths = provision();

// ---------------------------------------------------------------- state and cleanup
rmSync(ARTIFACTS, { recursive: true, force: true });
mkdirSync(ARTIFACTS, { recursive: true });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'wisejson-e2e-'));
const dirs = Object.fromEntries(['server-data', 'user-data', 'extensions', 'workspace'].map((d) => [d, path.join(tmp, d)]));
for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
const serverLog = createWriteStream(path.join(ARTIFACTS, 'server.log'));
const browserLog = createWriteStream(path.join(ARTIFACTS, 'browser-console.log'));
const extHostLog = createWriteStream(path.join(ARTIFACTS, 'extension-host.log'));

let server = null;   // the VS Code server (leader of its own process group)
let chrome = null;   // { browserServer, browser }: Chromium, launched to know its pid
let phase = 'setup'; // 'suite' | 'ui'
let page = null;     // the page a failure screenshot is taken of
let shot = null;
let cleaning = null;
/** Extra clean-ups registered by the phases (the UI's sync server), run last-in first-out. */
const cleanups = [];

/** Screenshot of the workbench (once), also on a timeout or failure of the harness. */
function screenshot(file = phase.startsWith('ui') ? 'ui-failure.png' : 'workbench.png') {
  if (!page) return Promise.resolve();
  shot ??= page.screenshot({ path: path.join(ARTIFACTS, file), timeout: 10_000 }).then(
    () => say(`screenshot: ${rel(ARTIFACTS)}/${file}`),
    (e) => say(`screenshot failed: ${e.message.split('\n')[0]}`),
  );
  return shot;
}

function cleanup() {
  cleaning ??= (async () => {
    await screenshot();
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((e) => say(`clean-up failed: ${e.message}`));
    if (chrome) await closeChromium(chrome);
    if (server) await stopGroup(server.proc.pid);
    await new Promise((r) => serverLog.end(r));
    await new Promise((r) => browserLog.end(r));
    await new Promise((r) => extHostLog.end(r));
    if (process.env.E2E_KEEP) say(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}

async function finish(code, why) {
  if (why) say(why);
  await cleanup();
  say(`exit ${code} after ${secs()} s (artifacts in ${rel(ARTIFACTS)}/)`);
  process.exit(code);
}

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void finish(1, `interrupted (${sig})`));
const onTimeout = () => void finish(1, `TIMEOUT in the ${phase} phase (${secs()} s): killing everything`);
let timer = setTimeout(onTimeout, TIMEOUT_MS);

/** A page of the workbench with its console going to browser-console.log. */
async function newWorkbenchPage(context, label) {
  const p = await context.newPage();
  await p.exposeFunction('codeAutomationLog', (level, message) => {
    browserLog.write(`[${label} ${level}] ${message}\n`);
    if (VERBOSE) process.stderr.write(`[workbench ${level}] ${message}\n`);
  });
  p.on('console', (m) => browserLog.write(`[${label} console.${m.type()}] ${m.text()}\n`));
  p.on('pageerror', (e) => browserLog.write(`[${label} pageerror] ${e.stack ?? e}\n`));
  p.on('crash', () => void finish(1, `the ${label} page crashed`));
  return p;
}

// ---------------------------------------------------------------- phase 1: the extension-host suite
// Known noise from VS Code itself in the extension host: native modules that need install scripts
// (file logging via spdlog, the parent-process watchdog) are absent. Logged to the artifact only.
const NOISE = [/Could not locate the bindings file[\s\S]*@vscode\/spdlog/, /Cannot find module '\.\/build\/Release\/watchdog'/];

async function runSuite({ vscodeServer = server, folder = dirs.workspace, testsDir = TESTS_DIR, label = 'suite', shotFile = 'workbench.png' } = {}) {
  phase = label;
  let extHostLines = 0;
  let noiseLines = 0;
  let sawMochaSummary = false;
  const context = await chrome.browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await newWorkbenchPage(context, label);

  let resolveExit;
  const exited = new Promise((r) => (resolveExit = r));
  await page.exposeFunction('codeAutomationExit', (code, logs) => {
    if (Array.isArray(logs)) {
      for (const { relativePath, contents } of logs) {
        const f = path.join(ARTIFACTS, 'workbench-logs', relativePath);
        if (!f.startsWith(path.join(ARTIFACTS, 'workbench-logs') + path.sep)) continue;
        mkdirSync(path.dirname(f), { recursive: true });
        writeFileSync(f, contents);
      }
    }
    resolveExit(code);
  });
  page.on('websocket', (ws) => watchExtHostConsole(ws, (severity, text) => {
    extHostLog.write(`[${severity}] ${text}\n`);
    if (NOISE.some((re) => re.test(text))) { noiseLines++; return; }
    extHostLines++;
    if (/^\s*\d+ (passing|failing)/m.test(text)) sawMochaSummary = true;
    (severity === 'error' || severity === 'warn' ? process.stderr : process.stdout).write(`${text}\n`);
  }));

  const url = workbenchUrl(vscodeServer, { folder, payload: { extensionDevelopmentPath: ROOT, extensionTestsPath: testsDir } });
  say(`opening the workbench: extension ${EXTENSION_ID} from ${ROOT}, tests ${rel(testsDir)}/index.js`);
  say('--- extension host output ---');
  await page.goto(url);

  const code = await exited;
  say(`--- end of extension host output${noiseLines ? ` (${noiseLines} known-harmless VS Code messages about absent native modules: see ${rel(ARTIFACTS)}/extension-host.log)` : ''} ---`);
  say(`the extension host exited with code ${code}`);
  await screenshot(shotFile);
  await context.close().catch(() => {}); // ends this window's extension host before the next phase
  page = null;
  shot = null;
  if (typeof code !== 'number') { say(`unexpected exit code ${JSON.stringify(code)}`); return 1; }
  if (code === 0 && !sawMochaSummary) {
    say(`exit code 0 but no mocha summary was seen (${extHostLines} extension host lines): did the suite run? See ${rel(ARTIFACTS)}/`);
    return 1;
  }
  say(code === 0 ? `extension-host ${label} PASSED` : `extension-host ${label} FAILED`);
  return code;
}

// ---------------------------------------------------------------- phase 2: an untrusted workspace
// A second VS Code server with workspace trust ON, so the seeded folder opens in Restricted Mode.
// Its .vscode/settings.json names the workspace's own database, an absolute folder outside, a
// ../ folder outside and a symlink pointing outside; out/test/extension/untrusted checks what the
// extension shows, and here every file of every one of those database folders must be unchanged.
const UNTRUSTED_TESTS_DIR = path.join(TESTS_DIR, 'untrusted');

/** Every file below `dir` with its size and mtime (what "nothing written" compares). */
function filesOf(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) { out.push(`${p}/`); walk(p); } else { const st = statSync(p); out.push(`${p} ${st.size} ${st.mtimeMs}`); }
    }
  };
  walk(dir);
  return out.sort();
}

async function seedUntrustedWorkspace(root) {
  const WiseJSON = createRequire(path.join(ROOT, 'package.json'))(path.join(ROOT, 'dist', 'wise-json.js'));
  const ws = path.join(root, 'workspace');
  const folders = { inside: path.join(ws, '.wisejson'), absolute: path.join(root, 'outside-abs'), relative: path.join(root, 'outside-rel'), linked: path.join(root, 'outside-linked') };
  for (const dir of Object.values(folders)) {
    const db = new WiseJSON(dir);
    await db.init();
    await (await db.collection('notes')).insert({ _id: 'seeded', text: 'written before VS Code opened' });
    await db.close();
  }
  symlinkSync(folders.linked, path.join(ws, 'link-out'));
  // A WiseJSON 6 folder inside the workspace: upgrading it would write, so it must stay as it is.
  folders.wisejson6 = path.join(ws, 'legacy6');
  cpSync(path.join(ROOT, 'test', 'fixtures', 'wisejson6', 'notes'), folders.wisejson6, { recursive: true });
  mkdirSync(path.join(ws, '.vscode'), { recursive: true });
  writeFileSync(path.join(ws, '.vscode', 'settings.json'), JSON.stringify({ 'wisejson.databases': ['.wisejson', folders.absolute, '../outside-rel', 'link-out', 'legacy6'] }, null, 2));
  return { ws, folders };
}

async function runUntrusted() {
  const root = path.join(tmp, 'untrusted');
  const d = Object.fromEntries(['server-data', 'user-data', 'extensions'].map((k) => [k, path.join(root, k)]));
  for (const dir of Object.values(d)) mkdirSync(dir, { recursive: true });
  const { ws, folders } = await seedUntrustedWorkspace(root);
  const before = Object.values(folders).map(filesOf);
  say('starting a second VS Code server with workspace trust on (the workspace opens in Restricted Mode)');
  const trustServer = await startVsCodeServer({
    paths, dirs: d, cwd: root, workspaceTrust: true,
    onOutput: (chunk) => { serverLog.write(chunk); if (VERBOSE) process.stderr.write(`[server untrusted] ${chunk}`); },
    onExit: () => {},
  });
  cleanups.push(() => stopGroup(trustServer.proc.pid));
  let code;
  try {
    code = await runSuite({ vscodeServer: trustServer, folder: ws, testsDir: UNTRUSTED_TESTS_DIR, label: 'untrusted suite', shotFile: 'workbench-untrusted.png' });
  } finally {
    await stopGroup(trustServer.proc.pid);
  }
  const after = Object.values(folders).map(filesOf);
  const changed = Object.keys(folders).filter((k, i) => JSON.stringify(before[i]) !== JSON.stringify(after[i]));
  if (changed.length > 0) {
    say(`FAILED: files changed in the database folders ${changed.join(', ')} of an untrusted workspace`);
    return 1;
  }
  say(`untrusted workspace: not a byte written in the ${Object.keys(folders).length} database folders its settings name`);
  return code;
}

// ---------------------------------------------------------------- run
try {
  say(`starting the VS Code server (Node 24, logs: ${rel(ARTIFACTS)}/server.log)`);
  server = await startVsCodeServer({
    paths, dirs, cwd: tmp,
    onOutput: (d) => { serverLog.write(d); if (VERBOSE) process.stderr.write(`[server] ${d}`); },
    onExit: (how) => { if (!cleaning) void finish(1, `the VS Code server exited early (${how}); see ${rel(ARTIFACTS)}/server.log`); },
  });
  say(`the server answers on ${server.origin}; launching Chromium`);
  chrome = await launchChromium();

  let code = 0;
  if (RUN_SUITE) code = await runSuite();
  if (RUN_SUITE && code === 0) code = await runUntrusted();
  if (RUN_UI && code === 0) {
    phase = 'ui';
    const { runUiChecks } = await import('./ui.mjs');
    const contexts = [];
    const uiChecks = (dir) => runUiChecks({
      server, browser: chrome.browser, tmp: dir, verbose: VERBOSE,
      newPage: async (context) => { contexts.push(context); return (page = await newWorkbenchPage(context, 'ui')); },
      onCleanup: (fn) => cleanups.push(fn),
      extHostLog,
    });
    code = await uiChecks(tmp);
    if (code !== 0 && !args.has('--no-retry')) {
      // A second run tells a step that raced the workbench once (a real browser on a shared
      // 2-core machine) from a broken one, which fails again. The first run's failure stays in
      // this log and in ui-failure-1.png; a pass on the second run says so.
      for (const f of ['ui-failure.png', 'ui-figures.json']) if (existsSync(path.join(ARTIFACTS, f))) renameSync(path.join(ARTIFACTS, f), path.join(ARTIFACTS, f.replace('.', '-1.')));
      for (const c of contexts.splice(0)) await c.close().catch(() => {});
      say('the UI checks failed (above): running them once more, in a fresh workspace and browser context');
      clearTimeout(timer);
      timer = setTimeout(onTimeout, TIMEOUT_MS);
      phase = 'ui (second run)';
      const dir = path.join(tmp, 'second-run');
      mkdirSync(dir, { recursive: true });
      code = await uiChecks(dir);
      say(code === 0 ? 'UI checks passed on the second run; the first run failed (above, ui-failure-1.png)' : 'UI checks failed twice');
    }
    page = null; // ui.mjs took its own screenshots (ui-failure.png on a failure)
    if (code === 0 && args.has('--update-screenshots')) {
      const dir = path.join(ROOT, 'media', 'screenshots');
      mkdirSync(dir, { recursive: true });
      for (const f of ['tree-and-document.png', 'timeline.png', 'timeline-light.png', 'query.png', 'query-index.png', 'conflict.png', 'agent-write.png']) copyFileSync(path.join(ARTIFACTS, f), path.join(dir, f));
      say(`README screenshots updated in ${rel(dir)}/`);
    }
  } else if (RUN_UI) say('skipping the UI checks: the suite failed');
  clearTimeout(timer);
  await finish(code, code === 0 ? 'PASSED' : 'FAILED');
} catch (err) {
  await finish(1, `harness error: ${err.stack ?? err}`);
}
