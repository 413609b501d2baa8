#!/usr/bin/env node
// `npm run test:postgres`: the store-neutral server and sync suites again, with every test
// server keeping its data in a real PostgreSQL that the run starts itself (.mocharc.postgres.json,
// test/postgres/cluster.ts). Without PostgreSQL on the machine, it says what it did not run and
// how to install it — except in CI (CI=true), where that is a failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function hasPostgres() {
  try {
    const bin = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (existsSync(join(bin, 'initdb'))) return true;
  } catch {
    // no pg_config
  }
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((v) => existsSync(join(root, v, 'bin', 'initdb')));
}

if (!hasPostgres()) {
  const msg = 'PostgreSQL is not installed, so the server and sync suites did not run against the PostgreSQL store (the embedded store\'s run covered them). Install it to run them: apt-get install -y postgresql (or your system\'s package), then npm run test:postgres.';
  if (process.env.CI === 'true') {
    console.error(`error: ${msg}`);
    process.exit(1);
  }
  console.log(`\n  note: ${msg}\n`);
  process.exit(0);
}

const mocha = join('node_modules', '.bin', 'mocha');
const r = spawnSync(mocha, ['--config', '.mocharc.postgres.json'], { stdio: 'inherit', env: { ...process.env, WISEJSON_TEST_STORE: 'postgres' } });
process.exit(r.status ?? 1);
