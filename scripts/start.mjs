#!/usr/bin/env node
// `npm start`: a working WiseJSON in a real VS Code, in your browser, with a live sync server.
//
//   1. builds the extension and packages it (npm run package → wisejson-vscode.vsix);
//   2. provisions, once, the VS Code server from the npm package code-server and Node 24
//      (test/e2e/provision.mjs; cached under .vscode-test/, later runs skip it);
//   3. starts the sync server (dist/server.js, its embedded store in .vscode-test/demo/sync-data)
//      with a development API key made up for this run;
//   4. seeds, once, two demo workspaces (.vscode-test/demo/workspace-a and -b), each with its own
//      database of sample documents — or uses your folder (--workspace);
//   5. installs the .vsix into the VS Code server and starts it. The extension connects each
//      workspace to the sync server through its own Enable Sync command, so the key goes to
//      VS Code's SecretStorage; no file of the workspace holds it;
//   6. prints the URLs to open. Ctrl+C stops everything it started.
//
// Options (or environment): --port <n> (WISEJSON_PORT, default 8080) for VS Code,
// --sync-port <n> (WISEJSON_SYNC_PORT, default 3000) for the sync server, --workspace <dir>
// (WISEJSON_WORKSPACE) to open your own folder instead of the demo, --dataset <name>
// (WISEJSON_DATASET, default "demo"). A default port that is taken is replaced by a free one.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Where the demo keeps its state between runs (WISEJSON_DEMO_DIR moves it, e.g. for tests).
const DEMO = path.resolve(process.env.WISEJSON_DEMO_DIR ?? path.join(ROOT, '.vscode-test', 'demo'));
const say = (msg) => console.log(`[start] ${msg}`);

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      port: { type: 'string' },
      'sync-port': { type: 'string' },
      workspace: { type: 'string' },
      dataset: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  console.error(`npm start: ${err.message}\nRun npm start -- --help for the options.`);
  process.exit(2);
}
if (options.help) {
  console.log(`npm start [-- --port <n>] [--sync-port <n>] [--workspace <dir>] [--dataset <name>]

Builds WiseJSON, starts its sync server and a VS Code (in your browser) with the extension
installed and sync configured. Defaults: VS Code on 8080, sync server on 3000, two demo
workspaces. Environment: WISEJSON_PORT, WISEJSON_SYNC_PORT, WISEJSON_WORKSPACE, WISEJSON_DATASET.`);
  process.exit(0);
}

function portOption(value, env, fallback, name) {
  const raw = value ?? process.env[env];
  if (raw === undefined) return { port: fallback, given: false };
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`npm start: ${name} must be a port number (1-65535), got "${raw}".`);
    process.exit(2);
  }
  return { port, given: true };
}
const vscodePort = portOption(options.port, 'WISEJSON_PORT', 8080, '--port');
const syncPort = portOption(options['sync-port'], 'WISEJSON_SYNC_PORT', 3000, '--sync-port');
const dataset = options.dataset ?? process.env.WISEJSON_DATASET ?? 'demo';
const ownWorkspace = options.workspace ?? process.env.WISEJSON_WORKSPACE;
if (ownWorkspace !== undefined && !existsSync(ownWorkspace)) {
  console.error(`npm start: the workspace folder ${ownWorkspace} does not exist. Create it or pass another --workspace.`);
  process.exit(2);
}

/** Resolves `{port, given}` to a port we can listen on: a taken default is swapped for a free one. */
async function usablePort({ port, given }, what) {
  const free = (p) => new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(null));
    srv.listen(p, '127.0.0.1', () => { const got = srv.address().port; srv.close(() => resolve(got)); });
  });
  if (await free(port)) return port;
  if (given) {
    console.error(`npm start: port ${port} (${what}) is in use. Stop what uses it or pass another port.`);
    process.exit(2);
  }
  const other = await free(0);
  say(`port ${port} is in use: ${what} takes ${other}`);
  return other;
}

// ---------------------------------------------------------------- the demo's sample documents
const SEED_A = {
  notes: [
    { _id: 'welcome', title: 'Welcome to WiseJSON', body: 'Click a document to edit it as JSON; save to write it back. Right-click a collection for more.', tags: ['start'] },
    { title: 'Quarterly planning', body: 'Draft the Q3 roadmap with the team; collect estimates by Friday.', tags: ['work', 'planning'], done: false },
    { title: 'Groceries', body: 'Oat milk, sourdough, tomatoes, basil, parmesan.', tags: ['home'], done: true },
    { title: 'Renew passport', body: 'Photos taken; form filled in. Post it before the 20th.', tags: ['admin'], done: false },
    { title: 'Conference talk outline', body: 'Crash-safe JSON: the log, checkpoints, group commit, sync.', tags: ['work', 'writing'], done: false },
  ],
  tasks: [
    { title: 'Write the release notes', assignee: 'ada@example.com', priority: 2, done: false },
    { title: 'Review the sync PR', assignee: 'bruno@example.com', priority: 1, done: false },
    { title: 'Update the screenshots', assignee: 'chen@example.com', priority: 3, done: true },
  ],
};
const SEED_B = {
  users: [
    { name: 'Ada Park', email: 'ada@example.com', role: 'admin' },
    { name: 'Bruno Silva', email: 'bruno@example.com', role: 'editor' },
    { name: 'Chen Wei', email: 'chen@example.com', role: 'viewer' },
  ],
};

// ---------------------------------------------------------------- processes we own
const children = [];
let stopping = false;
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) { try { process.kill(-c.pid, 'SIGTERM'); } catch { /* gone */ } }
  for (let i = 0; i < 50 && children.some((c) => alive(c.pid)); i++) await sleep(100);
  for (const c of children) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
  say('stopped the VS Code server and the sync server');
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

/** Makes a child (in its own process group) ours: stopped with everything, and its death stops everything. */
function own(name, child) {
  children.push(child);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`[start] the ${name} exited (${code ?? signal}); stopping everything.`);
    void stopAll(1);
  });
  return child;
}

/** Runs a step; its output is shown only when it fails. */
function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout}${r.stderr}`);
    console.error(`npm start: ${what} failed (exit ${r.status ?? r.signal}).`);
    process.exit(1);
  }
}

// ---------------------------------------------------------------- 1. build and package
const t0 = Date.now();
const VSIX = path.join(ROOT, 'wisejson-vscode.vsix');
/** The newest modification time of the files the build and the .vsix are made of. */
function newestSource() {
  const walk = (p) => {
    if (!existsSync(p)) return 0;
    const st = statSync(p);
    return st.isDirectory() ? Math.max(0, ...readdirSync(p).map((e) => walk(path.join(p, e)))) : st.mtimeMs;
  };
  return Math.max(...['src', 'media', 'package.json', 'package.nls.json', 'esbuild.mjs', '.vscodeignore', 'README.md', 'LICENSE', 'CHANGELOG.md'].map((f) => walk(path.join(ROOT, f))));
}
const upToDate = existsSync(VSIX) && ['server.js', 'wise-json.js'].every((f) => existsSync(path.join(ROOT, 'dist', f))) && statSync(VSIX).mtimeMs > newestSource();
if (upToDate) {
  say('the extension is up to date (wisejson-vscode.vsix is newer than its sources)');
} else {
  say('building and packaging the extension (npm run package)');
  run(process.execPath, ['esbuild.mjs', '--production'], 'the build');
  run(process.execPath, [path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', 'wisejson-vscode.vsix'], 'packaging the .vsix');
}

// ---------------------------------------------------------------- 2. the VS Code server, provisioned once
const { provision } = await import('../test/e2e/provision.mjs');
const { startSyncServer } = await import('../test/e2e/harness.mjs');
const paths = provision();

// ---------------------------------------------------------------- 3. the sync server
const apiKey = `dev-${randomBytes(18).toString('base64url')}`;
const syncData = path.join(DEMO, 'sync-data');
mkdirSync(syncData, { recursive: true });
let syncUrl;
try {
  const syncServer = await startSyncServer({
    serverJs: path.join(ROOT, 'dist', 'server.js'), dataDir: syncData, apiKey,
    port: await usablePort(syncPort, 'the sync server'),
    onStderr: (d) => process.stderr.write(`[sync server] ${d}`),
  });
  own('sync server', syncServer.proc);
  syncUrl = syncServer.url;
} catch (err) {
  console.error(`npm start: ${err.message}`);
  await stopAll(1);
}
say(`sync server: ${syncUrl} (data in ${syncData}, dataset "${dataset}")`);

// ---------------------------------------------------------------- 4. the workspaces
const workspaces = ownWorkspace ? [path.resolve(ownWorkspace)] : await seedDemo();

async function seedDemo() {
  const WiseJSON = createRequire(import.meta.url)(path.join(ROOT, 'dist', 'wise-json.js'));
  // Sync pulls only the collections a database has: each workspace gets every demo collection
  // (empty where it has no sample documents), so each one receives the other's.
  const collections = [...new Set([SEED_A, SEED_B].flatMap(Object.keys))];
  const out = [];
  for (const [name, seed] of [['workspace-a', SEED_A], ['workspace-b', SEED_B]]) {
    const dir = path.join(DEMO, name);
    out.push(dir);
    if (existsSync(path.join(dir, '.wisejson', 'meta.json'))) continue;
    const db = new WiseJSON(path.join(dir, '.wisejson'));
    await db.init();
    for (const coll of collections) {
      const c = await db.collection(coll);
      if (seed[coll]) await c.insertMany(seed[coll]);
    }
    await db.close();
    // Sync every 5 s instead of 30, so the other window's edits show up quickly in the demo.
    mkdirSync(path.join(dir, '.vscode'), { recursive: true });
    writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'wisejson.sync.intervalMs': 5000 }, null, 2));
    say(`seeded ${dir}/.wisejson`);
  }
  return out;
}

// ---------------------------------------------------------------- 5. the VS Code server with the extension
const dirs = Object.fromEntries(['server-data', 'user-data', 'extensions'].map((d) => [d, path.join(DEMO, d)]));
for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
// A first-run window without VS Code's chat panel and welcome page, so the demo has room.
const userSettings = path.join(dirs['user-data'], 'User', 'settings.json');
if (!existsSync(userSettings)) {
  mkdirSync(path.dirname(userSettings), { recursive: true });
  writeFileSync(userSettings, JSON.stringify({ 'workbench.secondarySideBar.defaultVisibility': 'hidden', 'workbench.startupEditor': 'none', 'chat.disableAIFeatures': true }, null, 2));
}
const serverArgs = ['--server-data-dir', dirs['server-data'], '--user-data-dir', dirs['user-data'], '--extensions-dir', dirs.extensions, '--accept-server-license-terms'];
run(paths.node, [paths.serverMain, ...serverArgs, '--install-extension', path.join(ROOT, 'wisejson-vscode.vsix'), '--force'], 'installing the .vsix into the VS Code server');
const port = await usablePort(vscodePort, 'VS Code');
const env = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VSCODE_') && k !== 'ELECTRON_RUN_AS_NODE')),
  WISEJSON_DEV_SERVER_URL: syncUrl,
  WISEJSON_DEV_API_KEY: apiKey,
  WISEJSON_DEV_DATASET: dataset,
};
const vscode = own('VS Code server', spawn(paths.node, [
  paths.serverMain, '--host', '127.0.0.1', '--port', String(port), '--without-connection-token',
  '--telemetry-level', 'off', '--disable-workspace-trust', ...serverArgs,
], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
vscode.stderr.on('data', () => {}); // VS Code's own noise (missing native modules, no marketplace)
vscode.stdout.on('data', () => {});
const origin = `http://127.0.0.1:${port}`;
for (const started = Date.now(); ;) {
  try { if ((await fetch(origin, { signal: AbortSignal.timeout(2000) })).ok) break; } catch { /* not yet */ }
  if (Date.now() - started > 60_000) { console.error('npm start: the VS Code server did not answer within a minute.'); await stopAll(1); }
  await sleep(200);
}

// ---------------------------------------------------------------- 6. where to go
console.log(`
WiseJSON is running (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s). Open in a browser:

${workspaces.map((w, i) => `  ${workspaces.length > 1 ? `window ${i + 1}: ` : ''}${origin}/?folder=${encodeURIComponent(w)}`).join('\n')}
${workspaces.length > 1 ? '\n  Open both (two tabs): each workspace has its own database, and sync shows each one the\n  other\'s edits within seconds (the demo syncs every 5 s). Watch it in the status bar\n  and in WiseJSON: Open Sync Timeline.\n' : ''}
  sync server: ${syncUrl}  (dataset "${dataset}"; the extension got its key through Enable Sync)

Ctrl+C stops everything.`);
