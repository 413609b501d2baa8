// exploration version
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ARTIFACTS, countSentCalls, rel, ROOT, say, sleep, stopGroup, workbenchUrl } from './harness.mjs';

const ui = (msg) => console.log(`[ui] ${msg}`);

export async function seedWorkspace(root) {
  const WiseJSON = createRequire(path.join(ROOT, 'package.json'))(path.join(ROOT, 'dist', 'wise-json.js'));
  const t = Date.now();
  const notesApp = path.join(root, 'notes-app');
  const telemetry = path.join(root, 'telemetry');
  const db = new WiseJSON(path.join(notesApp, '.wisejson'));
  await db.init();
  const notes = await db.collection('notes');
  await notes.insertMany(NOTES);
  const users = await db.collection('users');
  await users.insertMany(USERS);
  await db.close();
  const db2 = new WiseJSON(path.join(telemetry, '.wisejson'));
  await db2.init();
  const events = await db2.collection('events');
  const types = ['page_view', 'click', 'search', 'save', 'share', 'login'];
  for (let i = 0; i < 10; i++) {
    const chunk = [];
    for (let j = 0; j < 10_000; j++) {
      const n = i * 10_000 + j;
      chunk.push({ n, type: types[n % types.length], user: USERS[n % USERS.length].email, at: 1_767_225_600_000 + n * 15_000 });
    }
    await events.insertMany(chunk);
  }
  await db2.close();
  const file = path.join(root, 'wisejson-demo.code-workspace');
  writeFileSync(file, JSON.stringify({ folders: [{ path: 'notes-app' }, { path: 'telemetry' }], settings: {} }, null, 2));
  return { file, notesApp, telemetry, ms: Date.now() - t };
}

const NOTES = [
  { title: 'Quarterly planning', body: 'Draft the Q3 roadmap with the team; collect estimates by Friday.', tags: ['work', 'planning'], done: false },
  { title: 'Groceries', body: 'Oat milk, sourdough, tomatoes, basil, parmesan.', tags: ['home'], done: true },
  { title: 'Book club: The Left Hand of Darkness', body: 'Chapters 1-6 for Thursday. Notes on Estraven.', tags: ['reading'], done: false },
  { title: 'Renew passport', body: 'Photos taken; form filled in. Post it before the 20th.', tags: ['admin'], done: false },
  { title: 'Fix flaky sync test', body: 'The resume test sometimes times out on CI: raise the wait, log the cursor.', tags: ['work', 'bug'], done: true },
  { title: 'Dentist', body: 'Tuesday 9:30, Dr. Moreau. Bring the insurance card.', tags: ['health'], done: false },
  { title: 'Bike service', body: 'Brake pads and chain. Shop opens at 10 on Saturdays.', tags: ['home'], done: false },
  { title: 'Conference talk outline', body: 'Crash-safe JSON: the log, checkpoints, group commit, sync.', tags: ['work', 'writing'], done: false },
  { title: 'Birthday present for Sam', body: 'A field guide to mushrooms and a good knife.', tags: ['family'], done: true },
  { title: 'Backup photos', body: 'Copy 2025 albums to the NAS and the offsite disk.', tags: ['home', 'admin'], done: false },
  { title: 'Learn the cello piece', body: 'Bach suite no. 1 prelude, bars 1-22, slowly.', tags: ['music'], done: false },
  { title: 'Plan the hike', body: 'Three days on the ridge trail; book the hut, check the weather.', tags: ['travel'], done: false },
];
const USERS = [
  { name: 'Ada Park', email: 'ada@example.com', role: 'admin' },
  { name: 'Bruno Silva', email: 'bruno@example.com', role: 'editor' },
  { name: 'Chen Wei', email: 'chen@example.com', role: 'viewer' },
  { name: 'Dana Okafor', email: 'dana@example.com', role: 'editor' },
];

/** The real sync server, stopped by its pid at the end. */
async function startSyncServer(dataDir, apiKey, onCleanup) {
  const proc = spawn(process.execPath, [path.join(ROOT, 'dist', 'server.js'), '--host', '127.0.0.1', '--port', '0', '--data', dataDir, '--api-key', apiKey], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(() => stopGroup(proc.pid));
  let out = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sync server did not say "listening on" within 20 s: ${out}`)), 20_000);
    const on = (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    proc.stdout.on('data', on);
    proc.stderr.on('data', on);
    proc.on('exit', (c) => reject(new Error(`the sync server exited (${c}): ${out}`)));
  });
  return { proc, url };
}

export async function runUiChecks(ctx) {
  const root = path.join(ctx.tmp, 'ui');
  mkdirSync(root, { recursive: true });
  const seed = await seedWorkspace(root);
  ui(`seeded in ${seed.ms} ms`);
  const apiKey = randomBytes(24).toString('base64url');
  const sync = await startSyncServer(path.join(root, 'sync-data'), apiKey, ctx.onCleanup);
  ui(`sync server ${sync.url}`);
  const context = await ctx.browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage(context);
  const getChildren = { count: 0 };
  page.on('websocket', (ws) => countSentCalls(ws, '$getChildren', getChildren));
  await page.goto(workbenchUrl(ctx.server, { workspace: seed.file, payload: { extensionDevelopmentPath: ROOT } }));
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await page.locator('.activitybar a.action-label[aria-label="WiseJSON"]').click({ timeout: 60_000 });
  await sleep(6000);
  await page.screenshot({ path: path.join(ARTIFACTS, 'x1.png') });
  writeFileSync(path.join(ARTIFACTS, 'sidebar.html'), await page.locator('#workbench\\.parts\\.sidebar').evaluate((e) => e.outerHTML));
  writeFileSync(path.join(ARTIFACTS, 'statusbar.html'), await page.locator('#workbench\\.parts\\.statusbar').evaluate((e) => e.outerHTML));
  ui(`getChildren ${getChildren.count}`);
  return 0;
}
