#!/usr/bin/env node
// Runs the extension-host test suite (out/test/extension/index.js, the same `run()` that
// @vscode/test-electron calls) inside a REAL VS Code without downloading desktop VS Code:
// the VS Code server shipped in the npm package code-server (provisioned by ./provision.mjs,
// run on Node 24) serves the workbench, Debian's Chromium (driven by playwright-core) opens it
// with our extension under development and the test module, and the workbench hands the test
// run's exit code back through window.codeAutomationExit (--enable-smoke-test-driver).
//
//   node test/e2e/run.mjs            (build first: npm run build && npm run compile-tests)
//   node test/e2e/run.mjs --build    builds the extension and the tests first
//   node test/e2e/run.mjs --verbose  also echoes the VS Code server's and the workbench's logs
//
// Env: E2E_TIMEOUT_MS (default 300000), E2E_CHROMIUM (default /usr/bin/chromium),
//      E2E_KEEP=1 keeps the temporary server/user/workspace folders.
// Output: the extension host's console (mocha's report) on stdout/stderr; test/e2e/artifacts/
// gets workbench.png, server.log, browser-console.log and the workbench's own log files.
// Exit code: the test run's exit code; 1 for a failure of the harness or a timeout.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { format } from 'node:util';
import { provision, ROOT } from './provision.mjs';

const args = new Set(process.argv.slice(2));
const VERBOSE = args.has('--verbose');
const TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS ?? 300_000);
const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const EXTENSION_ID = 'wisejson.wisejson-vscode';
const TESTS_DIR = path.join(ROOT, 'out', 'test', 'extension');
const ARTIFACTS = path.join(ROOT, 'test', 'e2e', 'artifacts');

const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(1);
const say = (msg) => console.log(`[e2e ${secs()}s] ${msg}`);

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
for (const f of [path.join(ROOT, 'dist', 'extension.js'), path.join(TESTS_DIR, 'index.js')]) {
  if (!existsSync(f)) {
    console.error(`[e2e] missing ${path.relative(ROOT, f)}: build first (npm run build && npm run compile-tests, or pass --build)`);
    process.exit(1);
  }
}
const { chromium } = createRequire(path.join(ROOT, 'package.json'))('playwright-core');

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

let server = null;        // the VS Code server (leader of its own process group)
let browserServer = null; // Chromium, launched through playwright's launchServer to know its pid
let browser = null;
let page = null;
let shot = null;
let cleaning = null;

/** Screenshot of the workbench (once), also on a timeout or failure of the harness. */
function screenshot() {
  if (!page) return Promise.resolve();
  shot ??= page.screenshot({ path: path.join(ARTIFACTS, 'workbench.png'), timeout: 10_000 }).then(
    () => say(`screenshot: ${path.relative(ROOT, ARTIFACTS)}/workbench.png`),
    (e) => say(`screenshot failed: ${e.message.split('\n')[0]}`),
  );
  return shot;
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const groupAlive = (pgid) => { try { process.kill(-pgid, 0); return true; } catch { return false; } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Signals a process group we created (the server and the processes it forked), by its pid. */
function killGroup(pid, signal) {
  try { process.kill(-pid, signal); } catch { try { process.kill(pid, signal); } catch { /* gone */ } }
}

function cleanup() {
  cleaning ??= (async () => {
    await screenshot();
    if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
    if (browserServer) {
      const pid = browserServer.process().pid;
      await Promise.race([browserServer.close().catch(() => {}), sleep(5000)]);
      if (pid && alive(pid)) killGroup(pid, 'SIGKILL');
    }
    if (server?.pid) {
      killGroup(server.pid, 'SIGTERM');
      for (let i = 0; i < 30 && alive(server.pid); i++) await sleep(100);
      killGroup(server.pid, 'SIGKILL'); // the extension host, file watcher and agent host too
      for (let i = 0; i < 50 && groupAlive(server.pid); i++) await sleep(100);
    }
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
  say(`exit ${code} after ${secs()} s (artifacts in ${path.relative(ROOT, ARTIFACTS)}/)`);
  process.exit(code);
}

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => void finish(1, `interrupted (${sig})`));
const timer = setTimeout(() => void finish(1, `TIMEOUT after ${TIMEOUT_MS / 1000} s: killing everything`), TIMEOUT_MS);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

// ---------------------------------------------------------------- the extension host's console
// With extensionTestsPath set, the workbench routes the extension host's console into its log
// service, mixed with its own messages. To print exactly the extension host's output we read the
// RPC calls `$logExtensionHostMessage({type:'__$console', severity, arguments})` that the
// extension host sends to the workbench over its WebSocket: the method name, a 4-byte big-endian
// length, then that many bytes of JSON args. (VS Code's wire format; the version is pinned.)
const MARKER = Buffer.from('$logExtensionHostMessage');
let extHostLines = 0;
let sawMochaSummary = false;

// Known noise from VS Code itself in the extension host: native modules that need install scripts
// (file logging via spdlog, the parent-process watchdog) are absent. Logged to the artifact only.
const NOISE = [/Could not locate the bindings file[\s\S]*@vscode\/spdlog/, /Cannot find module '\.\/build\/Release\/watchdog'/];
let noiseLines = 0;

function printExtHostEntry(entry) {
  let a;
  try { a = JSON.parse(entry.arguments); } catch { a = [String(entry.arguments)]; }
  const text = a.length ? format(...a) : '';
  extHostLog.write(`[${entry.severity}] ${text}\n`);
  if (NOISE.some((re) => re.test(text))) { noiseLines++; return; }
  extHostLines++;
  if (/^\s*\d+ (passing|failing)/m.test(text)) sawMochaSummary = true;
  (entry.severity === 'error' || entry.severity === 'warn' ? process.stderr : process.stdout).write(`${text}\n`);
}

function watchExtHostSocket(ws) {
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
          if (entry?.type === '__$console') printExtHostEntry(entry);
        }
      } catch { /* not a console call after all */ }
      buf = buf.subarray(start + len);
    }
  });
}

// ---------------------------------------------------------------- run
try {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;

  // 1. The VS Code server, on Node 24, in its own process group so that it and everything it
  //    forks (extension host, file watcher, agent host) can be stopped by its pid.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VSCODE_') && k !== 'ELECTRON_RUN_AS_NODE'));
  const serverArgs = [
    paths.serverMain, '--host', '127.0.0.1', '--port', String(port), '--without-connection-token',
    '--accept-server-license-terms', '--telemetry-level', 'off', '--enable-smoke-test-driver',
    '--disable-workspace-trust', '--server-data-dir', dirs['server-data'], '--user-data-dir', dirs['user-data'],
    '--extensions-dir', dirs.extensions,
  ];
  say(`starting the VS Code server on ${origin} (Node 24, logs: ${path.relative(ROOT, ARTIFACTS)}/server.log)`);
  server = spawn(paths.node, serverArgs, { cwd: tmp, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [server.stdout, server.stderr]) s.on('data', (d) => { serverLog.write(d); if (VERBOSE) process.stderr.write(`[server] ${d}`); });
  let serverExit = null;
  server.on('exit', (code, signal) => {
    serverExit = code ?? signal;
    if (!cleaning) void finish(1, `the VS Code server exited early (${serverExit}); see ${path.relative(ROOT, ARTIFACTS)}/server.log`);
  });

  // 2. Wait until it answers.
  const waitStart = Date.now();
  for (;;) {
    try { if ((await fetch(origin, { signal: AbortSignal.timeout(2000) })).ok) break; } catch { /* not yet */ }
    if (serverExit !== null) await new Promise(() => {}); // finish() is under way
    if (Date.now() - waitStart > 60_000) throw new Error('the VS Code server did not answer within a minute');
    await sleep(200);
  }
  say('the server answers; launching Chromium');

  // 3. Chromium through playwright-core.
  browserServer = await chromium.launchServer({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  browser = await chromium.connect(browserServer.wsEndpoint());
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });

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
  await page.exposeFunction('codeAutomationLog', (level, message) => {
    browserLog.write(`[workbench ${level}] ${message}\n`);
    if (VERBOSE) process.stderr.write(`[workbench ${level}] ${message}\n`);
  });
  page.on('console', (m) => browserLog.write(`[console.${m.type()}] ${m.text()}\n`));
  page.on('pageerror', (e) => browserLog.write(`[pageerror] ${e.stack ?? e}\n`));
  page.on('crash', () => void finish(1, 'the workbench page crashed'));
  page.on('websocket', watchExtHostSocket);

  // 4. The workbench, with the extension under development and the test module.
  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  const payload = [['extensionDevelopmentPath', remote(ROOT)], ['extensionTestsPath', remote(TESTS_DIR)]];
  const url = `${origin}/?folder=${encodeURIComponent(dirs.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  say(`opening the workbench: extension ${EXTENSION_ID} from ${ROOT}, tests ${path.relative(ROOT, TESTS_DIR)}/index.js`);
  say('--- extension host output ---');
  await page.goto(url);

  // 5. The test run's exit code.
  const code = await exited;
  say(`--- end of extension host output${noiseLines ? ` (${noiseLines} known-harmless VS Code messages about absent native modules: see ${path.relative(ROOT, ARTIFACTS)}/extension-host.log)` : ''} ---`);
  say(`the extension host exited with code ${code}`);
  clearTimeout(timer);
  await screenshot();
  if (typeof code !== 'number') await finish(1, `unexpected exit code ${JSON.stringify(code)}`);
  if (code === 0 && !sawMochaSummary) {
    await finish(1, `exit code 0 but no mocha summary was seen (${extHostLines} extension host lines): did the suite run? See ${path.relative(ROOT, ARTIFACTS)}/`);
  }
  await finish(code, code === 0 ? 'PASSED' : 'FAILED');
} catch (err) {
  await finish(1, `harness error: ${err.stack ?? err}`);
}
