/**
 * Earlier releases' code built from git history (the server CLI and the library, bundled with
 * esbuild as `npm run build` does), for the compatibility tests: old clients against this server,
 * this client against old servers.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { KEY } from '../server/helpers';
import { DS, rmDir, tmpDir } from './harness';

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

/** An opened database with sync on (interval off) and the `sync:error`s it reported. */
export interface Opened {
  db: AnyDb;
  errors: unknown[];
}

/**
 * For a describe block: builds `commit` once (its `server` and `library` paths), gives each test
 * a fresh folder, and `open(Db, name, url)` opens database `name` there, with sync enabled.
 */
export function usePreviousRelease(commit: string, syncOptions: Record<string, unknown> = {}): {
  previous: () => { server: string; library: string };
  dir: () => string;
  open: (Db: new (p: string) => AnyDb, name: string, url: string) => Promise<Opened>;
} {
  let previous: { server: string; library: string } | null = null;
  let buildDir = '';
  let dir = '';
  before(async () => {
    buildDir = await tmpDir('wisejson-previous-');
    previous = await buildPrevious(commit, buildDir);
  });
  after(async () => {
    await rmDir(buildDir);
  });
  beforeEach(async () => {
    dir = await tmpDir('wisejson-compat-');
  });
  afterEach(async () => {
    await rmDir(dir);
  });
  return {
    previous: () => previous!,
    dir: () => dir,
    open: async (Db, name, url) => {
      const db = new Db(path.join(dir, name));
      await db.init();
      await db.collection('notes');
      const errors: unknown[] = [];
      db.on('sync:error', (e) => errors.push(e));
      await db.enableSync({ url, apiKey: KEY, dataset: DS, syncIntervalMs: 3_600_000, ...syncOptions });
      return { db, errors };
    },
  };
}
