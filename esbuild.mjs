// Bundles the shipped artifacts. Each entry is one file under dist/.
//   dist/wise-json.js  the engine as a CommonJS library: module.exports = WiseJSON
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

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
if (existsSync('src/server/main.ts')) {
  builds.push({ ...node, entryPoints: ['src/server/main.ts'], outfile: 'dist/server.js' });
}

await Promise.all(builds.map((b) => esbuild.build(b)));
