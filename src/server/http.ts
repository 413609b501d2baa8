/** Small node:http helpers: bounded body reading, JSON and problem responses, gzip. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { SyncServerError } from './errors';

const gzip = promisify(zlib.gzip);

/** Bytes of request body read so far, per request (for the access log). */
export const bytesIn = new WeakMap<IncomingMessage, number>();

/**
 * Reads the body, at most `max` bytes (after gzip decoding when `Content-Encoding: gzip`).
 * A declared `Content-Length` above the limit is refused before anything is read; a body that
 * turns out larger is refused as soon as it passes the limit. Either way: 413.
 */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const tooLarge = (): SyncServerError =>
    new SyncServerError(413, 'payload_too_large', `The request body exceeds ${max} bytes (maxPushBytes); send fewer ops per push.`, { extra: { maxPushBytes: max } });
  const cl = req.headers['content-length'];
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl)) return Promise.reject(new SyncServerError(400, 'invalid_request', 'Content-Length is not a number.'));
    if (Number(cl) > max) return Promise.reject(tooLarge());
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  let source: Readable = req;
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    const gunzip = zlib.createGunzip();
    req.pipe(gunzip);
    source = gunzip;
  } else if (encoding !== 'identity') {
    return Promise.reject(new SyncServerError(415, 'unsupported_media_type', 'Content-Encoding must be identity or gzip.'));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const fail = (err: SyncServerError): void => {
      if (settled) return;
      settled = true;
      if (source !== req) source.destroy();
      reject(err);
    };
    req.on('data', (c: Buffer) => bytesIn.set(req, (bytesIn.get(req) ?? 0) + c.length));
    source.on('data', (c: Buffer) => {
      if (settled) return;
      total += c.length;
      if (total > max) {
        fail(tooLarge());
        return;
      }
      chunks.push(c);
    });
    source.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, total));
    });
    source.on('error', () => fail(new SyncServerError(400, 'invalid_request', encoding === 'identity' ? 'The request body could not be read.' : 'The gzip request body could not be decoded.')));
    req.on('aborted', () => fail(new SyncServerError(400, 'invalid_request', 'The client aborted the request.')));
  });
}

/** How much of an unread body the server reads and throws away to answer an early error. */
export const DISCARD_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * After an early error (a 413 before the body was read, a 401, …): reads the rest of the body
 * and throws it away, so that a client still sending gets the response instead of a connection
 * reset (closing a socket with unread data makes TCP send RST, and the client never sees the
 * 413). Resolves true when the body was consumed to its end; false when it was more than
 * `limit` further bytes, took longer than `timeoutMs`, or the connection broke — then the caller
 * answers with `Connection: close` and the request is cut after the response.
 */
export function drainBody(req: IncomingMessage, limit = DISCARD_LIMIT_BYTES, timeoutMs = 10_000): Promise<boolean> {
  if (req.complete) return Promise.resolve(true);
  if (req.destroyed) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    let extra = 0;
    let settled = false;
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onError);
      resolve(ok);
    };
    const onData = (c: Buffer): void => {
      extra += c.length;
      if (extra > limit) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onClose = (): void => finish(req.complete);
    const onError = (): void => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    timer.unref();
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    req.once('error', onError);
    req.unpipe();
    req.resume();
  });
}

/** After a response sent with an unread body: cut the request if it is still sending. */
export function cutAfterResponse(req: IncomingMessage, res: ServerResponse): void {
  res.on('finish', () => {
    const t = setTimeout(() => { if (!req.complete) req.destroy(); }, 2000);
    t.unref();
  });
}

export interface SendOptions {
  status: number;
  contentType: string;
  headers?: Record<string, string>;
  /** Compress when the client accepts gzip and the body is large. */
  compress?: boolean;
}

/** Sends `body`; resolves with the number of body bytes written. */
export async function send(req: IncomingMessage, res: ServerResponse, body: string, o: SendOptions): Promise<number> {
  let buf: Buffer = Buffer.from(body, 'utf8');
  const headers: Record<string, string | number> = {
    'Content-Type': o.contentType,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...o.headers,
  };
  if (o.compress) {
    headers.Vary = 'Accept-Encoding';
    const accept = String(req.headers['accept-encoding'] ?? '');
    if (buf.length >= 8192 && /\bgzip\b/i.test(accept)) {
      buf = await gzip(buf, { level: 4 });
      headers['Content-Encoding'] = 'gzip';
    }
  }
  headers['Content-Length'] = buf.length;
  if (res.headersSent || res.writableEnded || res.destroyed) return 0;
  res.writeHead(o.status, headers);
  res.end(req.method === 'HEAD' ? undefined : buf);
  return buf.length;
}

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): Promise<number> {
  return send(req, res, JSON.stringify(value), { status, contentType: 'application/json; charset=utf-8', headers });
}

export function sendProblem(req: IncomingMessage, res: ServerResponse, err: SyncServerError, extra: Record<string, unknown>): Promise<number> {
  const problem = { ...err.toProblem(), ...extra };
  return send(req, res, JSON.stringify(problem), { status: err.status, contentType: 'application/problem+json; charset=utf-8', headers: err.headers });
}
