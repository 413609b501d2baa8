// Bundles the shipped artifacts into dist/:
//   dist/wise-json.js         the engine as a CommonJS library: module.exports = WiseJSON
//   dist/extension.js         the VS Code extension (vscode external)
//   dist/undici.js            the sync client's HTTP library, which the extension loads on its
//                             first sync only (it is three quarters of the code; activation
//                             then parses a quarter of it)
//   dist/webview/timeline.js  the timeline webview's browser script
//   dist/webview/grid.js      the query results grid webview's browser script
//   dist/server.js            the sync server's CLI
//   node esbuild.mjs [--production]   (--production: minified, no source maps)
import * as esbuild from 'esbuild';
import { rmSync } from 'node:fs';

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

/** `require('undici')` in the extension bundle loads dist/undici.js beside it at run time. */
const undiciBeside = {
  name: 'undici-beside',
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, () => ({ path: './undici.js', external: true }));
  },
};

const builds = [
  { ...node, entryPoints: ['src/engine/library.ts'], outfile: 'dist/wise-json.js' },
  // mainFields: jsonc-parser's ES-module build, which esbuild bundles whole (its main is UMD,
  // whose inner requires a bundler cannot see).
  { ...node, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'], plugins: [undiciBeside], mainFields: ['module', 'main'] },
  { ...node, entryPoints: ['node_modules/undici/index.js'], outfile: 'dist/undici.js' },
  { ...node, entryPoints: ['src/server/main.ts'], outfile: 'dist/server.js' },
  // Browser code of the sync timeline webview (loaded under a strict CSP: no eval, no imports).
  { bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: !production, minify: production, logLevel: 'warning', entryPoints: ['src/webview/timeline/main.ts'], outfile: 'dist/webview/timeline.js' },
  // Browser code of the query results grid webview (the same CSP).
  { bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: !production, minify: production, logLevel: 'warning', entryPoints: ['src/webview/grid/main.ts'], outfile: 'dist/webview/grid.js' },
];

rmSync('dist', { recursive: true, force: true }); // no stale file (e.g. a source map) reaches a package
await Promise.all(builds.map((b) => esbuild.build(b)));
