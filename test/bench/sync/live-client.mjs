// Live-sync benchmark client: ONE WiseJSON database with live sync (the default), in its own
// process. Driven by test/bench/sync/live.mjs over IPC.
//
//   node live-client.mjs <params-json>
//   params: { dist, dir, url, apiKey, dataset, collection, role: 'writer' | 'reader' }
//
// Both roles enable sync, run a first cycle, wait for the live request, and report
// {event:'ready'}. A writer answers {cmd:'write', id} with {event:'written', id, at} (`at`: the
// wall clock in ms, sub-millisecond, just before the insert). A reader answers {cmd:'expect', id}
// with {event:'seen', id, at} once the document is in its database (checked after every sync
// cycle, and every 250 ms as a fallback so a missed event shows as a slow sample, not a hang).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

const p = JSON.parse(process.argv[2]);
const send = (msg) => new Promise((resolve) => { if (process.connected) process.send(msg, () => resolve()); else resolve(); });
const fail = async (e) => { await send({ ok: false, error: { message: e?.message ?? String(e), stack: e?.stack } }); process.exit(1); };
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
const now = () => performance.timeOrigin + performance.now();

const WiseJSON = createRequire(import.meta.url)(p.dist);
const db = new WiseJSON(p.dir);
await db.init();
const col = await db.collection(p.collection);
col.on('sync:error', (e) => void send({ event: 'sync:error', error: e }));
col.enableSync({ url: p.url, apiKey: p.apiKey, dataset: p.dataset });
await col.triggerSync();
for (let i = 0; col.getSyncStatus().mode !== 'live'; i++) {
  if (i > 500) throw new Error(`no live request after 5 s: mode ${col.getSyncStatus().mode}, state ${col.getSyncStatus().state}`);
  await sleep(10);
}
let cycles = 0;
col.on('sync:success', () => cycles++);

const expected = new Set();
const look = async () => {
  for (const id of [...expected]) {
    if (await col.getById(id)) {
      expected.delete(id);
      await send({ event: 'seen', id, at: now() });
    }
  }
};
if (p.role === 'reader') {
  col.on('sync:success', () => void look());
  setInterval(() => void look(), 250);
}
process.on('message', async (m) => {
  if (m?.cmd === 'write') {
    const at = now();
    await col.insert({ _id: m.id, text: `live write ${m.id}`, at });
    await send({ event: 'written', id: m.id, at });
  } else if (m?.cmd === 'expect') {
    expected.add(m.id);
    await look();
  } else if (m?.cmd === 'stats') {
    await send({ event: 'stats', cycles, status: col.getSyncStatus() });
  } else if (m?.cmd === 'close') {
    await db.close();
    await send({ event: 'closed' });
    process.exit(0);
  }
});
await send({ event: 'ready' });
