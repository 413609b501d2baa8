// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per source file,
// mapped back to src/** through the bundle's source map (dist/*.js.map) when there is one.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const maps = new Map();
function mapFor(url) {
  if (!url) return null;
  if (maps.has(url)) return maps.get(url);
  let m = null;
  try {
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (existsSync(`${file}.map`)) m = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
  } catch { m = null; }
  maps.set(url, m);
  return m;
}

function locate(cf) {
  const fn = cf.functionName || '(anonymous)';
  if (!cf.url) return { fn, file: fn.startsWith('(') ? fn : '(native)', where: '' };
  const m = mapFor(cf.url);
  if (m && cf.lineNumber >= 0) {
    const e = m.findEntry(cf.lineNumber, cf.columnNumber);
    if (e && e.originalSource) {
      const src = e.originalSource.replace(/^.*?\/(src\/|node_modules\/)/, '$1');
      return { fn, file: src, where: `${src}:${e.originalLine + 1}` };
    }
  }
  const file = cf.url.startsWith('node:') ? cf.url : basename(cf.url);
  return { fn, file, where: `${file}:${cf.lineNumber + 1}` };
}

/** { totalMs, byFunction: [{fn, where, ms, share}], byFile: [{file, ms, share}] } */
export function summarizeProfile(path, top = 15) {
  const prof = JSON.parse(readFileSync(path, 'utf8'));
  const self = new Map();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i];
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  }
  const byFn = new Map();
  const byFile = new Map();
  let total = 0;
  for (const node of prof.nodes) {
    const us = self.get(node.id) ?? 0;
    if (!us) continue;
    total += us;
    const loc = locate(node.callFrame);
    const k = `${loc.fn} ${loc.where}`;
    const f = byFn.get(k) ?? { fn: loc.fn, where: loc.where, us: 0 };
    f.us += us;
    byFn.set(k, f);
    byFile.set(loc.file, (byFile.get(loc.file) ?? 0) + us);
  }
  const ms = (us) => Math.round(us / 100) / 10;
  const share = (us) => Math.round((us / total) * 1000) / 10;
  return {
    totalMs: ms(total),
    byFunction: [...byFn.values()].sort((a, b) => b.us - a.us).slice(0, top).map((f) => ({ fn: f.fn, where: f.where, ms: ms(f.us), share: share(f.us) })),
    byFile: [...byFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([file, us]) => ({ file, ms: ms(us), share: share(us) })),
  };
}
