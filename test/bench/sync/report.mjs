// Sync benchmark report: markdown table (stdout + sync-results.md) and raw JSON (sync-results.json).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MB = 1024 * 1024;
const int = (n) => Math.round(n).toLocaleString('en-US');
const num = (v) => (v >= 100 ? int(v) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const mb = (bytes) => num(bytes / MB);
const k = (n) => (n >= 1000 ? `${n / 1000}k` : String(n));
const ok = (b) => (b ? '**pass**' : '**FAIL**');

/** The runs as table columns: [{head, run}] (run = measuredRun output, maybe partial). */
function columns(data) {
  const { results: R, sizes: S } = data;
  const cols = [];
  if (R.push) cols.push({ head: `1. push ${k(S.pushDocs)}`, run: R.push, push: true });
  if (R.pushPrevious) cols.push({ head: `1. push ${k(S.pushDocs)}: the old way (client of ${data.previous})`, run: R.pushPrevious, push: true });
  if (R.initial) cols.push({ head: `2. initial sync ${k(S.initialDocs)}`, run: R.initial });
  if (R.initialPrevious) cols.push({ head: `2. initial sync ${k(S.initialDocs)}: the old way (client of ${data.previous})`, run: R.initialPrevious });
  if (R.resume) {
    cols.push({ head: '3a. resume: run 1 (SIGKILLed)', run: R.resume.first, killed: true });
    cols.push({ head: '3b. resume: run 2 (same folder)', run: R.resume.second });
    cols.push({ head: '3. run 1 + run 2', sum: [R.resume.first, R.resume.second] });
  }
  if (R.seed?.client) cols.push({ head: `(info) seeding for 2.: push ${k(S.initialDocs)}`, run: R.seed, seed: true, push: true });
  return cols;
}

function cell(col, row) {
  if (col.sum) {
    if (!row.sum) return '';
    if (col.sum.some((r) => !r || r.error)) return '–';
    return row.sum(col.sum);
  }
  const r = col.run;
  if (!r) return '–';
  if (r.error && !(col.killed && r.wire)) return '**FAILED**';
  try { return row.get(r, col) ?? ''; } catch { return '–'; }
}

export function buildMarkdown(data) {
  const { results: R, sizes: S } = data;
  const cols = columns(data);
  const sumOf = (f) => (runs) => runs.reduce((a, r) => a + f(r), 0);
  const rows = [
    {
      title: 'Documents in the client after the run', unit: 'docs',
      get: (r, c) => (c.killed ? `${int(R.resume.docsAfterKill ?? 0)} (found on reopen)` : int(r.client.count)),
    },
    {
      title: '`await triggerSync()`', unit: 's ↓',
      get: (r, c) => (c.killed ? `killed at ${num((r.kill?.atMs ?? r.wallMs) / 1000)}` : num(r.client.syncMs / 1000)),
      sum: (runs) => `${num((runs[0].kill?.atMs ?? runs[0].wallMs) / 1000 + runs[1].client.syncMs / 1000)}`,
    },
    {
      title: 'Throughput', unit: 'docs/s ↑',
      get: (r, c) => {
        if (c.killed) return '';
        const docs = c.head.startsWith('1.') ? S.pushDocs : c.seed ? S.initialDocs : r.client.count - (c.head.startsWith('3b') ? (R.resume.docsAfterKill ?? 0) : 0);
        return int(docs / (r.client.syncMs / 1000));
      },
    },
    {
      title: 'HTTP requests: total (push / changes with data / empty changes)', unit: 'requests',
      get: (r) => `${r.log.requests} (${r.log.push} / ${r.log.dataPages} / ${r.log.emptyPages})`,
      sum: (runs) => { const t = (f) => runs.reduce((a, r) => a + f(r), 0); return `${t((r) => r.log.requests)} (${t((r) => r.log.push)} / ${t((r) => r.log.dataPages)} / ${t((r) => r.log.emptyPages)})`; },
    },
    { title: 'Bytes up, on the wire (bodies)', unit: 'MB', get: (r) => `${mb(r.wire.up)} (${mb(r.log.bodyBytesIn)})`, sum: (runs) => `${mb(sumOf((r) => r.wire.up)(runs))} (${mb(sumOf((r) => r.log.bodyBytesIn)(runs))})` },
    { title: 'Bytes down, on the wire (bodies)', unit: 'MB', get: (r) => `${mb(r.wire.down)} (${mb(r.log.bodyBytesOut)})`, sum: (runs) => `${mb(sumOf((r) => r.wire.down)(runs))} (${mb(sumOf((r) => r.log.bodyBytesOut)(runs))})` },
    {
      title: 'Pull after push: bytes down ÷ bytes up of the cycle, on the wire', unit: '% ↓',
      get: (r, c) => (c.push && r.wire.up > 0 ? `${(100 * r.wire.down / r.wire.up).toFixed(2)} %` : ''),
    },
    { title: 'Changes pulled / ops pushed (server log)', unit: 'docs', get: (r) => `${int(r.log.changesReturned)} / ${int(r.log.ops)}`, sum: (runs) => `${int(sumOf((r) => r.log.changesReturned)(runs))} / ${int(sumOf((r) => r.log.ops)(runs))}` },
    {
      title: 'Client peak RSS during the sync: VmHWM (sampled max of memoryUsage().rss)', unit: 'MB ↓',
      get: (r, c) => (c.killed ? 'killed (not reported)' : `${num(r.client.vmHwmMB)} (${num(r.client.maxRssSampledMB)})`),
    },
    { title: 'Client RSS: when the sync started / at its end / after a full gc', unit: 'MB', get: (r, c) => (c.killed ? `${num(r.prepared.rssMB)} / – / –` : `${num(r.client.rssStartMB)} / ${num(r.client.rssEndMB)} / ${num(r.client.rssAfterGcMB)}`) },
    { title: 'Client JS heap: highest used after a request / after a full gc at the end', unit: 'MB', get: (r, c) => (c.killed ? '' : `${num(r.client.maxHeapUsedAtRequestsMB)} / ${num(r.client.heapAfterGcMB)}`) },
    { title: 'Client `db.close()` after the sync (waits for a running checkpoint, may write one; not in the sync time): time / sampled peak RSS', unit: 's / MB', get: (r, c) => (c.killed ? '' : `${num(r.client.closeMs / 1000)} / ${r.client.closePeakMB == null ? '–' : num(r.client.closePeakMB)}`) },
    { title: 'Client CPU time (user + system)', unit: 's', get: (r, c) => (c.killed ? '' : num((r.client.cpuUserMs + r.client.cpuSystemMs) / 1000)) },
    { title: 'Server peak RSS during the run: VmHWM / sampled max of VmRSS (RSS at start)', unit: 'MB ↓', get: (r) => `${num(r.server.peakMB)} / ${num(r.server.sampledMaxMB)} (${num(r.server.rssStartMB)})` },
    { title: 'Server CPU time', unit: 's', get: (r) => num(r.server.cpuMs / 1000), sum: (runs) => num(sumOf((r) => r.server.cpuMs)(runs) / 1000) },
    { title: 'Server time in requests: sum / slowest (the rest of the sync time is the client and the transfer)', unit: 's', get: (r) => `${num(r.log.sumMs / 1000)} / ${num(r.log.maxMs / 1000)}` },
    { title: 'Push phase / pull phase of the cycle (client events)', unit: 's', get: (r, c) => (c.killed || !r.client.events.lastPushAtMs ? '' : `${num(r.client.events.lastPushAtMs / 1000)} / ${num((r.client.syncMs - r.client.events.lastPushAtMs) / 1000)}`) },
    { title: 'TCP connections; responses gzipped / requests accepting gzip', unit: '', get: (r) => `${r.wire.connections}; ${r.wire.gzipped} / ${r.wire.gzipAccepted}` },
  ];

  const head = ['Measurement', 'Unit', ...cols.map((c) => c.head)];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const row of rows) lines.push(`| ${row.title} | ${row.unit} | ${cols.map((c) => cell(c, row)).join(' | ')} |`);
  const table = lines.join('\n');

  // Budgets
  const budgets = [];
  const B = S.budgets;
  const scaledNote = data.quick ? ' (full-size budget; --quick run: informational)' : '';
  // In a --quick run the sync is 10 pages long, so the one page in flight at the kill is already
  // 10 %: the resume budget is informational there too.
  if (R.initial) {
    const r = R.initial;
    const okRun = !r.error;
    budgets.push({ what: `2. initial sync of ${k(S.initialDocs)} docs: time${scaledNote}`, limit: `< ${B.initialSyncSeconds} s`, measured: okRun ? `${num(r.client.syncMs / 1000)} s` : `failed: ${r.error}`, pass: okRun && r.client.syncMs / 1000 < B.initialSyncSeconds, binding: !data.quick });
    const rss = okRun ? Math.max(r.client.vmHwmMB, r.client.maxRssSampledMB) : NaN;
    budgets.push({ what: `2. initial sync: client peak RSS${scaledNote}`, limit: `< ${B.initialSyncClientRssMB} MB`, measured: okRun ? `${num(rss)} MB` : 'failed', pass: okRun && rss < B.initialSyncClientRssMB, binding: !data.quick });
  }
  if (R.seed?.client) {
    // The seeding run's cycle is a push of every document, then the pull that follows it.
    const r = R.seed;
    const ratio = r.wire.down / r.wire.up;
    const old = R.pushPrevious?.wire ? ` (the old way, 1. at ${k(S.pushDocs)}: ${(100 * R.pushPrevious.wire.down / R.pushPrevious.wire.up).toFixed(1)} %)` : '';
    budgets.push({ what: `#25: after pushing ${k(S.initialDocs)} new documents, the pull of the same cycle ÷ the push, bytes on the wire`, limit: `< ${100 * B.pullAfterPushRatio} %`, measured: `${mb(r.wire.down)} MB ÷ ${mb(r.wire.up)} MB = ${(100 * ratio).toFixed(2)} %${old}`, pass: ratio < B.pullAfterPushRatio, binding: !data.quick });
  }
  if (R.initial?.client) {
    const r = R.initial;
    const rss = Math.max(r.client.vmHwmMB, r.client.maxRssSampledMB);
    const old = R.initialPrevious?.client ? R.initialPrevious : null;
    budgets.push({ what: `#25: initial sync of ${k(S.initialDocs)} docs: time`, limit: `< ${B.initialSyncTargetSeconds} s`, measured: `${num(r.client.syncMs / 1000)} s${old ? ` (the old way: ${num(old.client.syncMs / 1000)} s)` : ''}`, pass: r.client.syncMs / 1000 < B.initialSyncTargetSeconds, binding: false });
    budgets.push({ what: `#25: initial sync: client peak RSS`, limit: `< ${B.initialSyncTargetRssMB} MB`, measured: `${num(rss)} MB${old ? ` (the old way: ${num(Math.max(old.client.vmHwmMB, old.client.maxRssSampledMB))} MB)` : ''}`, pass: rss < B.initialSyncTargetRssMB, binding: false });
  }
  if (R.resume) {
    const { first, second } = R.resume;
    const base = R.initial && !R.initial.error ? R.initial : null;
    const okRun = base && first.wire && !second.error;
    const total = okRun ? first.wire.down + second.wire.down : NaN;
    const ratio = okRun ? total / base.wire.down : NaN;
    const bodyRatio = okRun ? (first.log.bodyBytesOut + second.log.bodyBytesOut) / base.log.bodyBytesOut : NaN;
    budgets.push({
      what: `3. interrupted + resumed initial sync: bytes down (both runs) ÷ uninterrupted run (2.)${data.quick ? ' (--quick: one page is 10 % of the sync; informational)' : ''}`,
      limit: `≤ ${B.resumeBytesRatio.toFixed(2)}×`,
      measured: okRun ? `${mb(total)} MB ÷ ${mb(base.wire.down)} MB = ${ratio.toFixed(3)}× on the wire (bodies ${bodyRatio.toFixed(3)}×)` : `not measured: ${first.error ?? second.error ?? 'scenario 2 failed'}`,
      pass: okRun && ratio <= B.resumeBytesRatio && bodyRatio <= B.resumeBytesRatio,
      binding: !data.quick,
    });
  }
  if (R.live) {
    const L = R.live.latency;
    const D = R.live.load;
    const failed = R.live.error ? `failed: ${R.live.error}` : null;
    budgets.push({ what: `4. live: a write in one process seen by another replica's process (median of ${L?.writes ?? S.liveWrites} writes, 127.0.0.1)`, limit: `< ${B.liveMedianMs} ms`, measured: L ? `${num(L.medianMs)} ms (p90 ${num(L.p90Ms)}, min ${num(L.minMs)}, max ${num(L.maxMs)})` : failed ?? 'not measured', pass: !!L && L.medianMs < B.liveMedianMs, binding: true });
    const held = D && D.held === D.requests;
    budgets.push({ what: `4. live: ${int(D?.requests ?? S.liveRequests)} live requests held open at once: server RSS growth`, limit: `< ${B.liveRssGrowthMB} MB`, measured: D ? `${num(D.rssGrowthMB)} MB (${num(D.rssBeforeMB)} → ${num(D.rssPeakMB)} MB; ${int(D.held)} held${D.failed ? `, ${D.failed} failed` : ''}${D.answeredEarly ? `, ${D.answeredEarly} answered early` : ''})` : failed ?? 'not measured', pass: !!held && D.rssGrowthMB < B.liveRssGrowthMB, binding: !data.quick });
    budgets.push({ what: `4. live: /v1/health while they are held (${D?.healthSamples ?? 30} requests)`, limit: `< ${B.liveHealthMaxMs} ms`, measured: D ? `max ${num(D.healthMaxMs)} ms (median ${num(D.healthMedianMs)})` : failed ?? 'not measured', pass: !!held && D.healthMaxMs < B.liveHealthMaxMs, binding: !data.quick });
  }
  const P = R.postgres;
  if (P && !P.skipped) {
    const failed = P.error ? `failed: ${P.error}` : null;
    const pushOk = P.push?.client && R.push?.client;
    const ratio = pushOk ? R.push.client.syncMs / P.push.client.syncMs : NaN;
    budgets.push({ what: `5. PostgreSQL: push of ${k(S.pushDocs)} changes, throughput ÷ the embedded store's (1.)`, limit: `≥ ${B.pgPushRatio}×`, measured: pushOk ? `${ratio.toFixed(2)}× (${num(P.push.client.syncMs / 1000)} s vs ${num(R.push.client.syncMs / 1000)} s)` : failed ?? 'not measured', pass: pushOk && ratio >= B.pgPushRatio, binding: !data.quick });
    const init = P.initial?.client ? P.initial : null;
    budgets.push({ what: `5. PostgreSQL: server peak RSS during the initial sync of ${k(S.initialDocs)} docs`, limit: `< ${B.pgServerRssMB} MB`, measured: init ? `${num(init.server.peakMB)} MB (embedded: ${R.initial?.server ? num(R.initial.server.peakMB) : '?'} MB)` : failed ?? 'not measured', pass: !!init && init.server.peakMB < B.pgServerRssMB, binding: !data.quick });
    budgets.push({ what: `5. PostgreSQL: server start with ${k(S.initialDocs)} docs`, limit: `< ${B.pgStartSeconds} s`, measured: P.restart ? `${num(P.restart.ms / 1000)} s, RSS ${num(P.restart.rssMB)} MB (embedded: ${R.seed?.serverRestart ? `${num(R.seed.serverRestart.ms / 1000)} s, ${num(R.seed.serverRestart.rssMB)} MB` : '?'})` : failed ?? 'not measured', pass: !!P.restart && P.restart.ms / 1000 < B.pgStartSeconds, binding: !data.quick });
    if (init) budgets.push({ what: `5. PostgreSQL: initial sync of ${k(S.initialDocs)} docs (for information; 2. is the embedded store's)`, limit: `< ${B.initialSyncSeconds} s`, measured: `${num(init.client.syncMs / 1000)} s (embedded ${R.initial?.client ? num(R.initial.client.syncMs / 1000) : '?'} s)`, pass: init.client.syncMs / 1000 < B.initialSyncSeconds, binding: false });
    const X = P.instances;
    if (X?.runs?.length) {
      const run = (n) => X.runs.find((r) => r.instances === n);
      const [one, two] = [run(1), run(2)];
      const total = (r) => r.pushMs + r.pullMs;
      const ratio = one && two ? total(two) / total(one) : NaN;
      budgets.push({ what: `6. PostgreSQL: 2 instances behind a round-robin proxy vs 1, push + pull of ${k(S.instancesDocs)} (time ratio; ${X.runs.map((r) => `${r.instances}: ${num(r.pushMs / 1000)} + ${num(r.pullMs / 1000)} s`).join(', ')})`, limit: `≤ ${B.instancesTwoVsOne}×`, measured: one && two ? `${ratio.toFixed(2)}×` : 'not measured', pass: ratio <= B.instancesTwoVsOne, binding: !data.quick });
      const W = X.wake;
      budgets.push({ what: `6. PostgreSQL: a write through one instance seen by a live reader on another (median of ${W?.writes ?? S.liveWrites} writes)`, limit: `< ${B.crossInstanceWakeMs} ms`, measured: W ? `${num(W.medianMs)} ms (p90 ${num(W.p90Ms)}, min ${num(W.minMs)}, max ${num(W.maxMs)})` : 'not measured', pass: !!W && W.medianMs < B.crossInstanceWakeMs, binding: !data.quick });
      const G = X.big;
      budgets.push({ what: `6. PostgreSQL: instance peak RSS with ${k(S.bigDocs)} docs in the database, serving a client's first ${k(G?.pulled ?? 0)} changes`, limit: `< ${B.instanceRssWith1MMB} MB`, measured: G ? `${num(G.pullPeakMB)} MB (at start ${num(G.rssAtStartMB)} MB; seeded with SQL in ${num(G.seedMs / 1000)} s)` : 'not measured', pass: !!G && G.pullPeakMB < B.instanceRssWith1MMB, binding: !data.quick });
      if (G) budgets.push({ what: `6. PostgreSQL: the same instance after a client's push of ${k(S.pushDocs)} into another dataset (for information: 5.'s push on an empty database peaks alike)`, limit: `< ${B.instanceRssWith1MMB} MB`, measured: `${num(G.peakMB)} MB (5.'s push: ${P.push?.server ? num(P.push.server.peakMB) : '?'} MB)`, pass: G.peakMB < B.instanceRssWith1MMB, binding: false });
    }
  }
  const budgetTable = ['| Budget | Limit | Measured | Result |', '| --- | --- | --- | --- |',
    ...budgets.map((b) => `| ${b.what} | ${b.limit} | ${b.measured} | ${b.binding ? ok(b.pass) : (b.pass ? 'pass' : 'fail')} |`)].join('\n');

  // Correctness checks
  const checkRuns = [['1. push', R.push], ['1. push, the old way', R.pushPrevious], ['seeding', R.seed], ['2. initial sync', R.initial], ['2. initial sync, the old way', R.initialPrevious], ['3b. resume run 2', R.resume?.second], ['5. PostgreSQL push', R.postgres?.push], ['5. PostgreSQL initial sync', R.postgres?.initial]];
  const checkLines = [];
  for (const [name, run] of checkRuns) {
    if (!run?.checks) continue;
    for (const c of run.checks) checkLines.push(`- ${c.ok ? 'ok' : '**FAILED**'} — ${name}: ${c.what}${c.detail && !c.ok ? ` (${c.detail})` : ''}`);
  }
  if (R.resume && !R.resume.first.error?.startsWith('timeout')) {
    const f = R.resume.first;
    checkLines.push(`- ${f.kill ? 'ok' : '**FAILED**'} — 3a. run 1 was SIGKILLed mid-sync${f.kill ? ` (after ${f.kill.afterPages} of ${R.resume.dataPagesUninterrupted} data pages, ${num(f.kill.atMs / 1000)} s)` : ` (${f.error ?? 'it finished before the kill point'})`}`);
    const resumed = R.resume.resumedSince && R.resume.resumedSince !== '0';
    checkLines.push(`- ${resumed ? 'ok' : '**FAILED**'} — 3b. run 2 continued from the saved cursor (first changes request since=${R.resume.resumedSince}; run 1's last request was since=${R.resume.lastPageRequestedBeforeKill})`);
  }
  const failedChecks = checkLines.filter((l) => l.includes('**FAILED**')).length;
  const failedBudgets = budgets.filter((b) => b.binding && !b.pass).length;

  const failures = [];
  if (R.fatal) failures.push(`- **The run stopped early:** ${R.fatal}`);
  for (const [name, run] of [['1. push', R.push], ['seeding', R.seed], ['2. initial sync', R.initial], ['3a. resume run 1', R.resume?.first], ['3b. resume run 2', R.resume?.second]]) {
    if (!run) continue;
    if (run.error && !(name.startsWith('3a') && run.kill)) failures.push(`- ${name}: ${run.error}`);
    for (const e of run.client?.events?.errors ?? []) failures.push(`- ${name}: sync:error at ${e.atMs} ms: \`${e.code}\` ${e.message} (retryable ${e.retryable}, status ${e.status ?? '–'})`);
    for (const e of run.client?.events?.quarantines ?? []) failures.push(`- ${name}: sync:quarantine: ${e.reason}`);
    for (const e of run.client?.events?.resets ?? []) failures.push(`- ${name}: sync:reset: ${JSON.stringify(e)}`);
    if (run.exit?.lingering) failures.push(`- ${name}: ${run.exit.lingering}`);
  }

  const markdown = `${table}\n\n### Budgets\n\n${budgetTable}\n\n### Checks\n\n${checkLines.join('\n')}` +
    (failures.length ? `\n\n### Errors and warnings\n\n${failures.join('\n')}` : '');
  return { markdown, failed: failedChecks + failedBudgets + (R.fatal ? 1 : 0) };
}

function profileSection(title, p) {
  if (!p) return '';
  if (p.error) return `\n### ${title}\n\nprofile could not be read: ${p.error}\n`;
  return `\n#### ${title} (${num(p.totalMs / 1000)} s sampled)\n\n` +
    '| Self time by source file | ms | share |\n| --- | ---: | ---: |\n' +
    p.byFile.map((x) => `| ${x.file} | ${int(x.ms)} | ${x.share} % |`).join('\n') +
    '\n\n| Self time by function | where | ms | share |\n| --- | --- | ---: | ---: |\n' +
    p.byFunction.map((x) => `| ${x.fn} | ${x.where} | ${int(x.ms)} | ${x.share} % |`).join('\n') + '\n';
}

function header(data) {
  const S = data.sizes;
  const R = data.results;
  const seed = R.seed;
  return `# WiseJSON sync benchmark results

- Date: ${data.date}${data.quick ? ' — **--quick run (10× smaller sizes)**' : ''}
- Node ${data.node}, CPU: ${data.cpu} × ${data.cores} cores, ${data.memGB} GB RAM, ${data.os}
- Load average (1/5/15 min) at start: ${data.loadavg.start.join(' / ')}, at end: ${data.loadavg.end.join(' / ')}
- Data folders (client and server) on: ${data.filesystem}
- Build: dist/wise-json.js ${data.build.lib.mtime} (sha256 ${data.build.lib.sha256}), dist/server.js ${data.build.server.mtime} (sha256 ${data.build.server.sha256}), git HEAD ${data.build.gitHead}${data.build.srcDirty ? ' + uncommitted changes in src/' : ''}
- Documents: ~${data.docBytes} bytes of JSON as generated (${int(data.docBytes + 80)} with the engine's createdAt/updatedAt; nested objects, arrays, prose-like text), one collection \`bench\` in dataset \`bench\`.
- Setup: the real server (\`node dist/server.js --host 127.0.0.1 --port 0 --data <tmp> --api-key <key>\`) and each client database (\`dist/wise-json.js\`, \`enableSync\` + \`await col.triggerSync()\`) in their own processes. Between them, a TCP proxy on 127.0.0.1 counts the bytes on the wire (HTTP headers included); requests and body bytes come from the server's JSON access log. Peak RSS: the kernel's VmHWM of each process, reset (\`/proc/<pid>/clear_refs\`) when the measured sync starts, plus \`process.memoryUsage().rss\` sampled every 10 ms in the client.
- 1. push: ${int(S.pushDocs)} documents inserted (insertMany of ${int(S.insertBatch)}, sync enabled; not measured), then one measured \`triggerSync()\` (push, then the pull of the same cycle).
- 2. initial sync: ${int(S.initialDocs)} documents pushed by a seeding client${seed?.client ? ` (${num(seed.ms / 1000)} s: insertMany with sync enabled ${num(seed.prepared.insertMs / 1000)} s + triggerSync ${num(seed.client.syncMs / 1000)} s; its figures are in the last column, for information${seed.profile ? ', measured with its client under `node --cpu-prof`' : ''})` : ''}, server restarted${seed?.serverRestart ? ` (startup with the data: ${num(seed.serverRestart.ms / 1000)} s, RSS ${num(seed.serverRestart.rssMB)} MB)` : ''}, then a fresh client database runs \`triggerSync()\` from scratch.
- 3. resume: the same initial sync in another fresh folder, SIGKILLed after ${R.resume ? `${R.resume.killAt} of the ${R.resume.dataPagesUninterrupted}` : `${Math.round(S.killFraction * 100)} % of the`} data pages run 2. needed (counted in the server's access log), then run again on the same folder${R.resume?.reopenMs != null ? ` (reopening the killed database took ${num(R.resume.reopenMs)} ms and found ${int(R.resume.docsAfterKill)} documents)` : ''}.
- 4. live: a writer and a reader process, each with its own database and live sync (the default; no proxy), ${int(S.liveWrites ?? 0)} writes one at a time, each timed from just before the writer's insert to the reader having the document (the wall clock of both processes). Then ${int(S.liveRequests ?? 0)} live requests (\`GET /changes?wait=25\` at the dataset's head) held open at once on a fresh server, its RSS sampled and \`/v1/health\` timed meanwhile.
- 5. PostgreSQL: the server with \`--database-url\` on a PostgreSQL ${R.postgres?.skipped ? `(skipped: ${R.postgres.skipped})` : 'the bench starts itself (initdb in a temp folder, fsync on)'}: 1.'s push, then 2.'s seeding, restart and initial sync, same client and proxy.
- 6. PostgreSQL, several instances: ${int(S.instancesDocs ?? 0)} documents pushed by one client and pulled by another through the tests' round-robin HTTP proxy (each request to the next instance; after a warm-up push of 2,000 into another dataset) in front of ${(S.instances ?? []).join(', ')} instance(s) on one database (no byte-counting proxy); a live writer on one instance and a live reader on another; then one instance on a database seeded with ${int(S.bigDocs ?? 0)} documents of ~1 KiB by SQL, serving pages of 500 changes (as a client asks) and a client's push into another dataset of the database.
- Total run time: ${data.elapsedSeconds} s. Raw numbers: \`test/bench/sync-results.json\`.
`;
}

function details(data) {
  const R = data.results;
  const out = [];
  const tl = (run) => {
    const t = run?.client?.timeline?.filter((x) => x.kind === 'pull');
    if (!t?.length) return null;
    const at = (f) => t[Math.min(t.length - 1, Math.max(0, Math.round(f * t.length) - 1))];
    return [0.1, 0.25, 0.5, 0.75, 1].map((f) => { const x = at(f); return `${Math.round(f * 100)} % of pages ${x.rssMB} MB (heap ${x.heapMB})`; }).join(', ');
  };
  if (R.initial?.client) {
    const c = R.initial.client;
    out.push(`- Client memory, initial sync: after a full gc at the end the JS heap holds ${num(c.heapAfterGcMB)} MB of live objects (${num(c.heapTotalAfterGcMB)} MB committed), Buffers ${num(c.externalAfterGcMB)} MB (the text of the ${int(c.count)} documents not read yet is kept in Buffers, outside the heap), RSS ${num(c.rssAfterGcMB)} MB.`);
    const p = c.maxRssSampledAt;
    const peak = p ? ` at ${(p.atMs / 1000).toFixed(2)} s of ${(c.syncMs / 1000).toFixed(2)} s (then: heap ${p.heapMB} MB used of ${p.heapTotalMB}, Buffers ${p.externalMB} MB)` : '';
    out.push(`- Client RSS after each pulled page, initial sync: ${tl(R.initial)}; sampled max ${num(c.maxRssSampledMB)} MB${peak}. VmHWM is only raised by the kernel when memory is unmapped, so a peak that V8 gives back with madvise can be missed by it; the sampled maximum can then be the higher figure, and the budget uses the higher of the two.`);
  }
  if (R.initial?.clientDiskMB != null || R.seed?.serverDiskMB != null) {
    out.push(`- On disk: client database after the initial sync ${R.initial?.clientDiskMB ?? '?'} MB (newest checkpoint ${R.initial?.clientCheckpointMB ?? 'none'} MB; log segments are preallocated); server data with the ${int(data.sizes.initialDocs)} docs after a clean stop ${R.seed?.serverDiskMB ?? '?'} MB (its checkpoint, i.e. the stored rows with their per-field merge metadata: ${R.seed?.serverCheckpointMB ?? '?'} MB, ${R.seed?.serverCheckpointMB ? int((R.seed.serverCheckpointMB * 1048576) / data.sizes.initialDocs) : '?'} B per document). Server RSS with the ${int(data.sizes.initialDocs)} docs: ${R.seed?.serverRssMB != null ? num(R.seed.serverRssMB) : '?'} MB after seeding, ${R.seed?.serverRestart ? num(R.seed.serverRestart.rssMB) : '?'} MB right after a restart.`);
  }
  const g = R.gzipProbe;
  if (g && !g.error) {
    out.push(`- Compression: the client's requests carry no \`Accept-Encoding: gzip\` (see the gzip row), so every page travels as plain JSON. The first page of the data set fetched directly with and without it: ${int(g.identity.bytes)} B identity vs ${int(g.gzip.bytes)} B ${g.gzip.encoding} (${(g.ratio * 100).toFixed(1)} %).`);
  } else if (g?.error) out.push(`- gzip probe failed: ${g.error}`);
  const perPush = (r) => (r?.client && r.log.push ? `${int(r.client.events.lastPushAtMs / r.log.push)} ms per push request at the client, ${int(r.log.pushMs / r.log.push)} ms of it in the server` : null);
  if (R.push?.client && R.seed?.client) {
    out.push(`- Push cost per request of 500 ops: ${perPush(R.push)} with ${int(data.sizes.pushDocs)} ops pending at the start (1.); ${perPush(R.seed)} with ${int(data.sizes.initialDocs)} pending (seeding run${R.seed.profile ? ', under the profiler' : ''}).`);
  }
  if (R.push?.client) {
    const p = R.push;
    const prev = R.pushPrevious?.client ? R.pushPrevious : null;
    out.push(`- 1. push: the cycle's pull lists the ${int(p.log.changesReturned)} just-pushed documents as own changes, without their bodies (${mb(p.log.bodyBytesOut)} MB down, push results included, for ${mb(p.log.bodyBytesIn)} MB up)` +
      (prev ? `; the previous release's client, which does not ask for them, gets the bodies back (${mb(prev.log.bodyBytesOut)} MB down).` : '.'));
  }
  return out.length ? `\n### Details\n\n${out.join('\n')}\n` : '';
}

export function writeSyncReports(data, dir) {
  const { markdown, failed } = buildMarkdown(data);
  const P = data.results.profiles;
  const prof = P ? '\n### Where the time goes (node --cpu-prof re-runs, not the measured runs)\n\nEach profile covers its whole process: the client\'s open, for a push its inserts, and its \`db.close()\` (checkpoint); the server\'s start (for the initial sync: loading the data set, `parseStored`, `load`).\n' +
    profileSection(`Client, initial sync of ${k(data.sizes.initialDocs)} (this run: ${P.initial?.syncMs ? num(P.initial.syncMs / 1000) + ' s' : P.initial?.error})`, P.initial?.client) +
    profileSection('Server, initial sync (start + serving the pages)', P.initial?.server) +
    profileSection(`Client, push of ${k(data.sizes.pushDocs)} (this run: ${P.push?.syncMs ? num(P.push.syncMs / 1000) + ' s' : P.push?.error})`, P.push?.client) +
    profileSection('Server, push', P.push?.server) +
    profileSection(`Client, seeding: insertMany of ${k(data.sizes.initialDocs)} with sync enabled (${data.results.seed?.prepared ? num(data.results.seed.prepared.insertMs / 1000) + ' s' : '?'}), then triggerSync: push of ${k(data.sizes.initialDocs)} and the pull of them back (${data.results.seed?.client ? num(data.results.seed.client.syncMs / 1000) + ' s' : '?'}); this is the seeding run itself`, data.results.seed?.profile) : '';
  const md = `${header(data)}\n## Results\n\n${markdown}\n${details(data)}${prof}`;
  writeFileSync(join(dir, 'sync-results.md'), md);
  writeFileSync(join(dir, 'sync-results.json'), JSON.stringify(data, null, 2) + '\n');
  return { markdown: markdown + '\n' + details(data) + prof, failed };
}
