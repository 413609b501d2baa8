// Bundles the shipped artifacts. Each entry is one file under dist/.
//   dist/wise-json.js  the engine as a CommonJS library: module.exports = WiseJSON
//   dist/extension.js  the VS Code extension (vscode external)
//   dist/webview/timeline.js  the timeline webview's browser script
//   dist/server.js     the sync server's CLI
import * as esbuild from 'esbuild';
import { existsSync, rmSync } from 'node:fs';

const production = process.argv.includes('--production');

/** @type {import('esbuild').BuildOptions} */
const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

const builds = [
  { ...node, entryPoints: ['src/engine/library.ts'], outfile: 'dist/wise-json.js' },
];
if (existsSync('src/extension/extension.ts')) {
  builds.push({ ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] });
}
if (existsSync('src/webview/timeline/main.ts')) {
  // Browser code of the sync timeline webview (loaded under a strict CSP, no eval, no imports).
  builds.push({ bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: !production, minify: production, logLevel: 'warning', entryPoints: ['src/webview/timeline/main.ts'], outfile: 'dist/webview/timeline.js' });
}
if (existsSync('src/server/main.ts')) {
  builds.push({ ...node, entryPoints: ['src/server/main.ts'], outfile: 'dist/server.js' });
}

rmSync('dist', { recursive: true, force: true }); // no stale file (e.g. a source map) reaches a package
await Promise.all(builds.map((b) => esbuild.build(b)));
