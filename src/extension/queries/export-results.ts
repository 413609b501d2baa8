/**
 * Exports a query's results to a file as JSON, JSON Lines or CSV, in parts: a few thousand
 * documents are encoded and written at a time, progress is reported after each part, and an
 * abort stops between parts. The file appears whole or not at all: the parts go to a temporary
 * file beside it, renamed over it at the end (and removed on an abort or an error).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Doc } from '../../engine';
import { WiseJSONError } from '../../engine';
import { csvHeader, csvRows } from '../../engine/export/csv';

export type ExportFormat = 'json' | 'jsonl' | 'csv';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['json', 'jsonl', 'csv'];

/** Documents encoded and written per part. */
const PART = 2000;

export class ExportCancelledError extends WiseJSONError {
  constructor(file: string) {
    super('EXPORT_CANCELLED', `The export to ${file} was cancelled; nothing was written there.`);
  }
}

export interface ExportOptions {
  /** Called after each part with how many documents are written so far. */
  onProgress?(written: number, total: number): void;
  signal?: AbortSignal;
}

/** Writes `docs` to `file` as `format` (CSV: one column per entry of `columns`); resolves with how many were written. */
export async function exportResults(docs: readonly Doc[], columns: readonly string[], format: ExportFormat, file: string, options: ExportOptions = {}): Promise<number> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${Date.now()}.tmp`);
  const handle = await fs.promises.open(temp, 'wx');
  let done = false;
  try {
    const write = (text: string) => handle.write(text);
    if (format === 'json') await write('[');
    if (format === 'csv') await write(csvHeader(columns));
    for (let start = 0; start < docs.length; start += PART) {
      if (options.signal?.aborted) throw new ExportCancelledError(file);
      const part = docs.slice(start, start + PART);
      let text: string;
      if (format === 'csv') text = csvRows(part, columns).map((line) => `\r\n${line}`).join('');
      else if (format === 'jsonl') text = part.map((d) => `${JSON.stringify(d)}\n`).join('');
      else text = part.map((d, i) => `${start + i === 0 ? '' : ','}\n  ${JSON.stringify(d)}`).join('');
      await write(text);
      options.onProgress?.(Math.min(docs.length, start + PART), docs.length);
      await new Promise((resolve) => setImmediate(resolve)); // let the window breathe (and an abort arrive)
    }
    if (format === 'json') await write(docs.length > 0 ? '\n]\n' : ']\n');
    if (format === 'csv') await write('\r\n');
    await handle.sync();
    await handle.close();
    await fs.promises.rename(temp, file);
    done = true;
    return docs.length;
  } finally {
    if (!done) {
      await handle.close().catch(() => undefined);
      await fs.promises.rm(temp, { force: true });
    }
  }
}
