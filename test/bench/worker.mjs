// Worker process: runs workloads for ONE engine, so engines never share a heap, a GC or an event loop.
//   node --expose-gc worker.mjs <mode> <engine> <dir> <params-json>
// modes:
//   session     long-lived; executes {id, cmd, args} messages (workloads.session[cmd]) one at a time
//   loadclose   fresh db, bulk load, RSS, acknowledged writes, clean close       (W7 setup, W8)
//   loadkill    fresh db, bulk load, acknowledged writes, keeps writing until SIGKILLed (W7 setup)
//   open        open an existing db and time open + first getById                 (W7)
// Every reply is {id?, ok, result | error}. Uncaught errors are reported, then the process exits 1.
import { loadEngine } from './engines/index.mjs';
import * as W from './workloads.mjs';

const [mode, engineName, dir, paramsJson] = process.argv.slice(2);
const params = paramsJson ? JSON.parse(paramsJson) : {};

const errInfo = (e) => ({
  message: e?.message ?? String(e),
  name: e?.name,
  code: e?.code,
  stack: e?.stack ? String(e.stack).split('\n').slice(0, 8).join('\n') : undefined,
});
const send = (msg) => new Promise((resolve) => process.send(msg, () => resolve()));

const fatal = async (kind, e) => {
  try { await send({ fatal: true, kind, error: errInfo(e) }); } catch { /* parent gone */ }
  process.exit(1);
};
process.on('uncaughtException', (e) => fatal('uncaughtException', e));
process.on('unhandledRejection', (e) => fatal('unhandledRejection', e));

let engine;
try {
  engine = await loadEngine(engineName);
} catch (e) {
  await fatal('loadEngine', e);
}

if (mode === 'session') {
  const st = { engine, dir, h: {} };
  let queue = Promise.resolve();
  process.on('message', (msg) => {
    if (msg?.cmd === 'exit') { queue.then(exitWhenIdle); return; }
    queue = queue.then(async () => {
      try {
        const fn = W.session[msg.cmd];
        if (!fn) throw new Error(`unknown session command ${msg.cmd}`);
        const result = await fn(st, msg.args ?? {});
        await send({ id: msg.id, ok: true, result });
      } catch (e) {
        await send({ id: msg.id, ok: false, error: errInfo(e) });
      }
    });
  });
  await send({ ready: true });
} else {
  const run = {
    loadclose: () => W.loadAndClose(engine, dir, params),
    loadkill: () => W.loadWriteUntilKilled(engine, dir, params, (m) => send(m)),
    open: () => W.openAndQuery(engine, dir, params),
  }[mode];
  if (!run) await fatal('usage', new Error(`unknown mode ${mode}`));
  try {
    const result = await run();
    await send({ ok: true, result });
  } catch (e) {
    await send({ ok: false, error: errInfo(e) });
  }
  exitWhenIdle();
}

// After the work is done the process should exit on its own. If the engine left timers, sockets or
// file watchers behind, say so on stderr (the runner records it) and exit with code 3.
function exitWhenIdle() {
  process.disconnect();
  setTimeout(() => {
    const res = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    process.stderr.write(`LINGERING: process still alive 2 s after close(); active resources: ${res.join(', ')}\n`);
    process.exit(3);
  }, 2000).unref();
}
