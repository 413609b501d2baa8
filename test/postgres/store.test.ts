/**
 * The PostgreSQL store's own behaviour (the store-neutral suites run against it too, see
 * ./run.mjs): what a start says for each wrong database URL, never the password; the schema's
 * version check; the CLI. Runs in the PostgreSQL run only (.mocharc.postgres.json).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Client } from 'pg';
import { startServer } from '../../src/server';
import { SCHEMA_VERSION } from '../../src/server/store/postgres';
import { KEY } from '../server/helpers';
import { createDatabase, freePort } from './cluster';

const SERVER_JS = path.resolve(__dirname, '..', '..', '..', 'dist', 'server.js');
const base = (): string => {
  const url = process.env.WISEJSON_TEST_PG_URL;
  if (!url) throw new Error('run through npm run test:postgres');
  return url;
};
const withPassword = (url: string, password: string): string => {
  const u = new URL(url);
  u.password = password;
  return u.toString();
};

describe('server on PostgreSQL: start-up errors and the schema', function () {
  this.timeout(60_000);

  const rejectsWith = async (databaseUrl: string, re: RegExp): Promise<string> => {
    let message = '';
    await assert.rejects(startServer({ databaseUrl, port: 0, apiKeys: [KEY], accessLog: false }), (e: unknown) => {
      message = (e as Error).message;
      assert.equal((e as { code?: string }).code, 'invalid_database');
      assert.match(message, re);
      return true;
    });
    const password = URL.canParse(databaseUrl) ? decodeURIComponent(new URL(databaseUrl).password) : 'hunter2';
    assert.ok(!message.includes('hunter2') && (!password || !message.includes(password)), `the password is not in the message: ${message}`);
    assert.ok(!message.includes('\n'), 'one line');
    return message;
  };

  it('an unreachable host or port: says where it tried, and what to check', async () => {
    const port = await freePort();
    await rejectsWith(`postgres://wj:hunter2@127.0.0.1:${port}/wisejson`, new RegExp(`Cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  });

  it('a wrong password: names the user and says to check the URL, never the password', async () => {
    await rejectsWith(withPassword(base(), 'hunter2'), /PostgreSQL refused the login of user "wj" at 127\.0\.0\.1:\d+: check the user and password/);
  });

  it('a database that does not exist: names it and says to create it', async () => {
    const u = new URL(base());
    u.pathname = '/no_such_database';
    await rejectsWith(u.toString(), /The database "no_such_database" does not exist .*create it/);
  });

  it('a URL that is not a postgres:// URL, or names no database', async () => {
    await rejectsWith('mysql://wj:hunter2@127.0.0.1/db', /must start with postgres:\/\//);
    await rejectsWith('postgres://wj:hunter2@127.0.0.1:5432', /names no database/);
    await assert.rejects(startServer({ databaseUrl: base(), dataDir: '/tmp/x', port: 0, accessLog: false }), /either a data folder or a database URL/);
  });

  it('creates its schema once; a database whose schema is newer than the server is refused', async () => {
    const url = await createDatabase(base());
    const s = await startServer({ databaseUrl: url, port: 0, apiKeys: [KEY], accessLog: false });
    await s.close();
    const again = await startServer({ databaseUrl: url, port: 0, apiKeys: [KEY], accessLog: false }); // migrations already done
    await again.close();
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      assert.deepEqual((await c.query('SELECT version FROM wj_schema')).rows, [{ version: SCHEMA_VERSION }]);
      await c.query('UPDATE wj_schema SET version = 99');
    } finally {
      await c.end();
    }
    await rejectsWith(url, new RegExp(`schema is version 99, newer than this server knows \\(${SCHEMA_VERSION}\\): run a newer server`));
  });

  it('keys create/list/revoke --database-url: a running server accepts a created key and refuses a revoked one within 2 s', async () => {
    const url = await createDatabase(base());
    const cli = (...args: string[]) => spawnSync(process.execPath, [SERVER_JS, 'keys', ...args, '--database-url', url], { encoding: 'utf8', timeout: 30_000 });
    const s = await startServer({ databaseUrl: url, port: 0, accessLog: false, errorLog: () => undefined }); // no key at all yet
    try {
      const info = (key: string) => fetch(`${s.url}/v1/info`, { headers: { authorization: `Bearer ${key}`, 'sync-protocol': '1' } }).then((r) => r.status);
      const created = cli('create', '--dataset', 'team');
      assert.equal(created.status, 0, created.stderr);
      const key = created.stdout.trim();
      assert.match(created.stderr, /Created key k_[0-9a-f]{12} for dataset\(s\) team/);
      assert.match(created.stderr, /wj_api_keys of wj@127\.0\.0\.1:\d+\/wj_/);
      const t0 = Date.now();
      while ((await info(key)) !== 200) {
        assert.ok(Date.now() - t0 < 2500, 'the new key works within 2 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      const listed = cli('list');
      const id = /^(k_[0-9a-f]{12})\tteam\t/m.exec(listed.stdout)?.[1];
      assert.ok(id, listed.stdout);
      assert.ok(!listed.stdout.includes(key), 'list never shows a key');
      assert.equal(cli('revoke', '--id', id).status, 0);
      const t1 = Date.now();
      while ((await info(key)) !== 401) {
        assert.ok(Date.now() - t1 < 2500, 'the revoked key is refused within 2 s');
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(cli('revoke', '--id', id).status, 1, 'revoking again: no such key');
    } finally {
      await s.close();
    }
  });

  it('the CLI: --database-url (or WISEJSON_SYNC_DATABASE_URL) with a wrong URL exits 1 with one line, no password', async () => {
    const port = await freePort();
    const bad = `postgres://wj:hunter2@127.0.0.1:${port}/wisejson`;
    for (const [args, env] of [[['--database-url', bad], {}], [[], { WISEJSON_SYNC_DATABASE_URL: bad }]] as const) {
      const r = spawnSync(process.execPath, [SERVER_JS, '--port', '0', '--api-key', KEY, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /^error: Cannot reach PostgreSQL at 127\.0\.0\.1:\d+ \(ECONNREFUSED\).*\n$/);
      assert.ok(!r.stderr.includes('hunter2') && !r.stdout.includes('hunter2'));
    }
    const both = spawnSync(process.execPath, [SERVER_JS, '--data', '/tmp/x', '--database-url', bad], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--data and --database-url both given/);
  });
});
