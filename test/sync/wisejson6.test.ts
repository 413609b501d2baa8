/**
 * Code written for WiseJSON 6 (its own README and docs, ../shared/reference/wisejson-6.0.4), run
 * in child processes with `require('wise-json-db')` resolving to this project's library bundle
 * (dist/wise-json.js), against a real sync server where it syncs. Only the paths, the server URL
 * and the key are changed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { KEY, TestServer, tmpDir } from '../server/helpers';

const run = promisify(execFile);
const DIST = path.resolve(__dirname, '..', '..', '..', 'dist', 'wise-json.js');

async function runScript(source: string, dir: string): Promise<string> {
  const mod = path.join(dir, 'node_modules', 'wise-json-db');
  fs.mkdirSync(mod, { recursive: true });
  fs.writeFileSync(path.join(mod, 'index.js'), `module.exports = require(${JSON.stringify(DIST)});\n`);
  fs.writeFileSync(path.join(dir, 'script.js'), source);
  const { stdout } = await run(process.execPath, ['script.js'], { cwd: dir, timeout: 30_000 });
  return stdout;
}

describe('WiseJSON 6 scripts run unchanged', function () {
  this.timeout(60_000);
  let dir = '';
  beforeEach(async () => {
    dir = await tmpDir('wisejson6-');
  });
  afterEach(async () => {
    await fs.promises.rm(dir, { recursive: true, force: true });
  });

  it('the README quick start: connect() returns the database at once, initialised on first use', async () => {
    // README.md, "Basic API Usage", as written (its console output is the check).
    const out = await runScript(`
const { connect } = require('wise-json-db');
const path = require('path');

// \`connect\` creates a database instance. Initialization happens automatically on the first operation.
const db = connect(path.resolve(__dirname, 'my-app-data'));

async function main() {
  const users = await db.getCollection('users');
  await users.clear();
  await users.createIndex('email', { unique: true });
  await users.insert({ name: 'Alice', email: 'alice@example.com', age: 30 });
  await users.insertMany([
    { name: 'Bob', email: 'bob@example.com', age: 24 },
    { name: 'Charlie', email: 'charlie@example.com', age: 35, tags: ['dev'] }
  ]);
  const devUser = await users.findOne({ tags: 'dev', age: { $gt: 30 } });
  console.log('Developer over 30:', devUser.name);
  const { modifiedCount } = await users.updateOne(
    { email: 'alice@example.com' },
    { $set: { status: 'active' }, $inc: { age: 1 } }
  );
  console.log(\`Updated \${modifiedCount} document(s).\`);
  await db.close();
  console.log('Database closed.');
}

main().catch((e) => { console.error(e); process.exit(1); });
`, dir);
    assert.equal(out, 'Developer over 30: Charlie\nUpdated 1 document(s).\nDatabase closed.\n');
    assert.ok(fs.existsSync(path.join(dir, 'my-app-data', 'meta.json')));
  });

  it("the root exports of WiseJSON's facade are there (internals excepted)", async () => {
    const out = await runScript(`
const root = require('wise-json-db');
const names = ['WiseJSON', 'connect', 'Collection', 'SyncManager', 'apiClient', 'WiseJSONError', 'UniqueConstraintError', 'DocumentNotFoundError', 'ConfigurationError'];
console.log(names.map((n) => n + ':' + typeof root[n]).join(' '));
const { WiseJSONError, ConfigurationError, UniqueConstraintError } = root;
(async () => {
  const db = root.connect(require('path').join(__dirname, 'db'));
  console.log('connect returns the database:', db instanceof root.WiseJSON, typeof db.then);
  const c = await db.collection('c');
  try { await c.find({ a: { $nope: 1 } }); } catch (e) { console.log('bad query:', e instanceof ConfigurationError, e instanceof WiseJSONError); }
  try { new root.WiseJSON(''); } catch (e) { console.log('bad path:', e instanceof WiseJSONError); }
  await c.createIndex('k', { unique: true });
  await c.insert({ k: 1 });
  try { await c.insert({ k: 1 }); } catch (e) { console.log('unique:', e instanceof UniqueConstraintError, e instanceof WiseJSONError); }
  console.log('awaited connect:', (await root.connect(require('path').join(__dirname, 'db2'))) instanceof root.WiseJSON);
  await db.close();
})().catch((e) => { console.error(e); process.exit(1); });
`, dir);
    assert.equal(out, [
      'WiseJSON:function connect:function Collection:function SyncManager:function apiClient:function WiseJSONError:function UniqueConstraintError:function DocumentNotFoundError:function ConfigurationError:function',
      'connect returns the database: true undefined',
      'bad query: true true',
      'bad path: true',
      'unique: true true',
      'awaited connect: true',
      '',
    ].join('\n'));
  });

  it('updates without operators merge, removeMany counts, an index of the other type throws (WiseJSON 6 semantics)', async () => {
    // What WiseJSON 6's collection code does (wise-json/collection/query-ops.js, ops.js, indexes.js).
    const out = await runScript(`
const { connect } = require('wise-json-db');
const db = connect(require('path').join(__dirname, 'data'));
(async () => {
  const nums = await db.getCollection('nums');
  await nums.insertMany([1, 2, 3, 4].map((n) => ({ _id: 'n' + n, n, label: 'x' + n })));
  await nums.updateMany((d) => d.n % 2 === 0, { even: true });
  await nums.updateOne({ _id: 'n1' }, { odd: true });
  const got = await nums.findOneAndUpdate({ _id: 'n3' }, { odd: true });
  console.log((await nums.getAll()).map((d) => [d._id, d.n, d.label, d.even ?? d.odd].join(':')).sort().join(' '));
  console.log('findOneAndUpdate kept', got.label);
  console.log('removed', await nums.removeMany((d) => d.even === true), 'left', await nums.count());
  await nums.createIndex('label');
  try { await nums.createIndex('label', { unique: true }); } catch (e) { console.log('index type change:', e.constructor.name); }
  await db.close();
})().catch((e) => { console.error(e); process.exit(1); });
`, dir);
    assert.equal(out, 'n1:1:x1:true n2:2:x2:true n3:3:x3:true n4:4:x4:true\nfindOneAndUpdate kept x3\nremoved 2 left 2\nindex type change: IndexConflictError\n');
  });

  it('the sync guide (docs/07-sync.md): new apiClient(url, apiKey) from the package root, passed to enableSync', async () => {
    const server = new TestServer();
    await server.start();
    try {
      // docs/07-sync.md, step 1, with the test server's URL and key.
      const out = await runScript(`
const WiseJSON = require('wise-json-db');
const { apiClient: ApiClient } = require('wise-json-db');
const path = require('path');

async function setupSync() {
    const db = new WiseJSON(path.resolve(__dirname, 'my-sync-db'));
    await db.init();
    const articles = await db.collection('articles');
    await articles.initPromise;

    const apiClientInstance = new ApiClient(
        ${JSON.stringify(server.url)},
        ${JSON.stringify(KEY)}
    );

    articles.enableSync({
        apiClient: apiClientInstance,
        url: ${JSON.stringify(server.url)},
        apiKey: ${JSON.stringify(KEY)},
        minSyncIntervalMs: 10000,
        maxSyncIntervalMs: 300000,
        pushBatchSize: 200,
    });
    articles.on('sync:success', () => console.log('[SYNC] ok'));
    articles.on('sync:error', (e) => console.log('[SYNC ERROR]', e.message));
    await articles.insert({ _id: 'a1', title: 'Hello' });
    await articles.triggerSync();
    await db.close();
}
setupSync().catch((e) => { console.error(e); process.exit(1); });
`, dir);
      assert.match(out, /\[SYNC\] ok/);
      assert.doesNotMatch(out, /SYNC ERROR/);
      const res = await fetch(`${server.url}/v1/datasets/default/changes?since=0&colls=articles`, { headers: { authorization: `Bearer ${KEY}`, 'sync-protocol': '1' } });
      const page = (await res.json()) as { changes: { id: string; doc: { title: string } }[] };
      assert.deepEqual(page.changes.map((c) => [c.id, c.doc.title]), [['a1', 'Hello']]);
    } finally {
      await server.cleanup();
    }
  });
});
