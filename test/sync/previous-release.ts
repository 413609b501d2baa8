/**
 * Earlier releases' code built from git history (the server CLI and the library, bundled with
 * esbuild as `npm run build` does), for the compatibility tests: old clients against this server,
 * this client against old servers.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** Builds the server CLI and library of `commit` into `dir`; returns their paths. */
export async function buildPrevious(commit: string, dir: string): Promise<{ server: string; library: string }> {
  const tar = path.join(dir, 'src.tar');
  execFileSync('git', ['archive', '--format=tar', '-o', tar, commit, 'src'], { cwd: ROOT });
  execFileSync('tar', ['-xf', tar, '-C', dir]);
  const common: esbuild.BuildOptions = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', nodePaths: [path.join(ROOT, 'node_modules')] };
  const server = path.join(dir, 'server.js');
  const library = path.join(dir, 'wise-json.js');
  await esbuild.build({ ...common, entryPoints: [path.join(dir, 'src', 'server', 'main.ts')], outfile: server });
  await esbuild.build({ ...common, entryPoints: [path.join(dir, 'src', 'engine', 'library.ts')], outfile: library });
  return { server, library };
}

/** What the tests use of a database, whichever release it comes from. */
export type AnyDb = {
  init(): Promise<void>;
  collection(name: string): Promise<{ insert(d: object): Promise<unknown>; getById(id: string): Promise<Record<string, unknown> | null> }>;
  enableSync(o: object): Promise<void>;
  triggerSync(): Promise<void>;
  close(): Promise<void>;
  on(e: string, f: (x: unknown) => void): unknown;
};
