/**
 * The bundled server as a child process: `node dist/server.js` (built here with `node esbuild.mjs`).
 */
import assert from 'node:assert/strict';
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Api, Replica, sleep, tmpDir } from './helpers';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const SERVER = path.join(ROOT, 'dist', 'server.js');
const run = promisify(execFile);

interface Child {
  proc: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function startChild(args: string[], env: Record<string, string> = {}): Promise<Child> {
  const proc = spawn(process.execPath, [SERVER, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); });
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise<Child>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 20_000);
    const check = (): void => {
      const m = /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', check);
        resolve({ proc, url: m[1], stdout: () => out, stderr: () => err, exit });
      }
    };
    proc.stdout!.on('data', check);
    void exit.then((code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
}

describe('server: command line (dist/server.js)', function () {
  this.timeout(120_000);
  let dir = '';
  const children: ChildProcess[] = [];

  before(() => {
    execFileSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' });
    assert.ok(fs.existsSync(SERVER));
  });
  beforeEach(async () => {
    dir = await tmpDir();
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('prints the listening line, serves a push and a pull, and stops gracefully on SIGTERM', async () => {
    const key = 'cli-test-key-000001';
    const child = await startChild(['--host', '127.0.0.1', '--port', '0', '--data', path.join(dir, 'data'), '--api-key', key]);
    children.push(child.proc);
    assert.equal(child.stdout().split('\n')[0], child.url.replace(/^/, 'listening on '));
    const api = new Api(child.url, key);
    const a = new Replica('rCli');
    const res = await api.push('ds', a.body([a.put('notes', 'n1', { title: 'over real HTTP' })]));
    assert.equal(res.ackSeq, 1);
    const page = await api.changes('ds');
    assert.equal(page.changes[0].doc?.title, 'over real HTTP');

    // a long-poll in flight during SIGTERM is answered, then the process exits 0
    const polled = api.changes('ds', { since: page.checkpoint, wait: 25 });
    await sleep(200);
    const t0 = Date.now();
    child.proc.kill('SIGTERM');
    const answered = await polled;
    assert.deepEqual(answered.changes, []);
    assert.equal(await child.exit, 0);
    assert.ok(Date.now() - t0 < 10_000);
    // one JSON access-log line per request, never the key
    const lines = child.stdout().trim().split('\n').slice(1).map((l) => JSON.parse(l) as { path: string; status: number });
    assert.ok(lines.some((l) => l.path === '/v1/datasets/ds/push' && l.status === 200));
    assert.ok(!child.stdout().includes(key) && !child.stderr().includes(key));

    // the data is still there for the next process
    const again = await startChild(['--port', '0', '--data', path.join(dir, 'data'), '--api-key', key, '--no-access-log']);
    children.push(again.proc);
    const after = await new Api(again.url, key).changes('ds');
    assert.deepEqual(after.changes, page.changes);
    assert.equal(again.stdout().trim(), `listening on ${again.url}`);
    again.proc.kill('SIGINT');
    assert.equal(await again.exit, 0);
  });

  it('keys create prints a key once and stores only its hash; the server accepts it', async () => {
    const data = path.join(dir, 'data');
    const { stdout, stderr } = await run(process.execPath, [SERVER, 'keys', 'create', '--data', data, '--dataset', 'notes']);
    const key = stdout.trim();
    assert.match(key, /^wjs_[A-Za-z0-9_-]{43}$/);
    assert.ok(!stderr.includes(key));
    // grep the whole data dir: the key is nowhere, its hash is
    const files = await fs.promises.readdir(data, { recursive: true });
    let all = '';
    for (const f of files) {
      const p = path.join(data, String(f));
      if ((await fs.promises.stat(p)).isFile()) all += await fs.promises.readFile(p, 'latin1');
    }
    assert.ok(!all.includes(key), 'the key must not be stored');
    const { createHash } = await import('node:crypto');
    assert.ok(all.includes(createHash('sha256').update(key).digest('hex')));
    const list = await run(process.execPath, [SERVER, 'keys', 'list', '--data', data]);
    assert.match(list.stdout, /^k_[0-9a-f]{12}\tnotes\t/);
    assert.ok(!list.stdout.includes(key));

    const child = await startChild(['--port', '0', '--data', data, '--no-access-log']);
    children.push(child.proc);
    assert.equal((await new Api(child.url, key).changesRaw('notes')).status, 200);
    assert.equal((await new Api(child.url, key).changesRaw('other')).status, 403);
    child.proc.kill('SIGTERM');
    assert.equal(await child.exit, 0);
  });

  it('reads keys from WISEJSON_SYNC_API_KEYS; --help prints usage; bad flags exit 2 without echoing', async () => {
    const child = await startChild(['--port', '0', '--data', path.join(dir, 'data'), '--no-access-log'], { WISEJSON_SYNC_API_KEYS: 'env-key-one-00001,env-key-two-00001:only' });
    children.push(child.proc);
    assert.equal((await new Api(child.url, 'env-key-one-00001').changesRaw('x')).status, 200);
    assert.equal((await new Api(child.url, 'env-key-two-00001').changesRaw('x')).status, 403);
    assert.equal((await new Api(child.url, 'env-key-two-00001').changesRaw('only')).status, 200);
    child.proc.kill('SIGTERM');
    assert.equal(await child.exit, 0);

    const help = await run(process.execPath, [SERVER, '--help']);
    assert.match(help.stdout, /Usage:/);
    assert.match(help.stdout, /keys create/);
    await assert.rejects(run(process.execPath, [SERVER, '--port', '0', 'secret-looking-positional']), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      assert.ok(!String(e.stderr).includes('secret-looking-positional'));
      return true;
    });
  });
});
