/**
 * The docsync/1 sync server (docs/sync-protocol.md) on plain `node:http`.
 *
 *   const s = await startServer({ dataDir: './sync-data', port: 0, apiKeys: ['secret-key-1'] });
 *   // s.url = 'http://127.0.0.1:<port>'
 *   await s.close();   // stop accepting, finish in-flight requests, close the engine
 *
 * Endpoints: GET /v1/health (no auth), GET /v1/info, POST /v1/datasets/{ds}/push,
 * GET /v1/datasets/{ds}/changes, GET /v1/datasets/{ds}/collections. Errors are RFC 9457 problem+json. No vscode import.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  isValidName, parseChangesQuery, parsePushRequest, PROTOCOL_MAX, PROTOCOL_MIN, ProtocolError, SERVER_CAPABILITIES,
} from '../sync/protocol';
import {
  allows, KeyStore, parseKeysFile, Principal, readStoredKeys, staticKeys, storedKeysPath, storedToEntries,
} from './auth';
import { resolveOptions, ResolvedServerOptions, ServerOptions } from './config';
import { SyncServerError, badRequest } from './errors';
import { bytesIn, cutAfterResponse, drainBody, readBody, send, sendJson, sendProblem } from './http';
import { lockDataDir } from './lock';
import { AccessLogEntry, loggablePath, sanitizeRequestId, stdoutAccessLog } from './log';
import { EmbeddedStore } from './store/embedded';
import { PostgresKeys, PostgresStore } from './store/postgres';
import type { DatasetHandle, SyncStorage } from './store/storage';

export type { ServerOptions } from './config';
export type { AccessLogEntry } from './log';
export { SyncServerError } from './errors';

export interface RunningServer {
  /** `http://<host>:<port>` */
  url: string;
  host: string;
  port: number;
  /** Graceful stop: no new connections, in-flight requests finish, long-polls return, engine closed. */
  close(): Promise<void>;
  /** Runs the tombstone purge now (it also runs every `purgeIntervalMs`). Resolves with the count purged. */
  purgeTombstones(): Promise<number>;
}

interface RequestContext {
  entry: AccessLogEntry;
  requestId?: string;
  dataset?: DatasetHandle;
  bodyRead: boolean;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const o = resolveOptions(options);
  const keys = new KeyStore();
  keys.set('static', staticKeys(o.apiKeys, o.apiKeysEnv));
  if (o.apiKeysFile) keys.set('file', parseKeysFile(await fs.promises.readFile(o.apiKeysFile, 'utf8'), o.apiKeysFile));
  if (o.dataDir) keys.set('stored', storedToEntries(await readStoredKeys(o.dataDir)));
  // With a database, `keys create --database-url` stores keys there: read now and every couple of seconds.
  const databaseKeys = o.databaseUrl ? await PostgresKeys.open(o.databaseUrl) : null;
  if (databaseKeys) {
    try {
      keys.set('stored', storedToEntries(await databaseKeys.list()));
    } catch (err) {
      await databaseKeys.close().catch(() => undefined);
      throw err;
    }
  }

  const release = o.dataDir ? await lockDataDir(o.dataDir) : async () => undefined;
  let store: SyncStorage;
  try {
    store = o.databaseUrl
      ? await PostgresStore.open({ url: o.databaseUrl, poolSize: o.databasePoolSize, statementTimeoutMs: o.databaseStatementTimeoutMs, limits: o.limits, now: o.now })
      : await EmbeddedStore.open(o.dataDir!, { limits: o.limits, now: o.now });
  } catch (err) {
    await release();
    await databaseKeys?.close().catch(() => undefined);
    throw err;
  }

  const log = o.accessLog === true ? stdoutAccessLog : o.accessLog === false ? null : o.accessLog;
  let closing = false;
  let inflight = 0;
  let drained: (() => void) | null = null;

  const server = http.createServer({ requestTimeout: 120_000, headersTimeout: 30_000 }, (req, res) => {
    inflight++;
    void handle(req, res).finally(() => {
      inflight--;
      if (inflight === 0 && drained) drained();
    });
  });
  server.keepAliveTimeout = 5000;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const t0 = performance.now();
    const ctx: RequestContext = {
      entry: { time: new Date(o.now()).toISOString(), method: String(req.method), path: loggablePath(req.url), status: 0, ms: 0, bytesIn: 0, bytesOut: 0 },
      requestId: sanitizeRequestId(req.headers['x-request-id']),
      bodyRead: false,
    };
    if (ctx.requestId) ctx.entry.requestId = ctx.requestId;
    let bytesOut = 0;
    try {
      bytesOut = await route(req, res, ctx);
    } catch (e) {
      const err = toServerError(e, o);
      ctx.entry.code = err.code;
      // Read what the client is still sending before answering, so it sees this response.
      const drained = ctx.bodyRead || (await drainBody(req));
      if (!drained) cutAfterResponse(req, res);
      const extra: Record<string, unknown> = { serverTime: o.now() };
      if (ctx.dataset && err.extra.epoch === undefined) extra.epoch = ctx.dataset.epoch;
      if (ctx.requestId) extra.requestId = ctx.requestId;
      if (closing || !drained) res.setHeader('Connection', 'close');
      bytesOut = await sendProblem(req, res, err, extra).catch(() => 0);
    } finally {
      ctx.entry.status = res.headersSent ? res.statusCode : 499;
      ctx.entry.ms = Math.round((performance.now() - t0) * 100) / 100;
      ctx.entry.bytesIn = bytesIn.get(req) ?? 0;
      ctx.entry.bytesOut = bytesOut;
      if (log) {
        try {
          log(ctx.entry);
        } catch {
          // a failing log sink never breaks a request
        }
      }
    }
  }

  function checkProtocol(req: http.IncomingMessage): void {
    const h = req.headers['sync-protocol'];
    const v = typeof h === 'string' && /^\s*\d{1,4}\s*$/.test(h) ? Number(h) : NaN;
    if (!(v >= PROTOCOL_MIN && v <= PROTOCOL_MAX)) {
      throw new SyncServerError(426, 'protocol_unsupported', `Send the header "Sync-Protocol: ${PROTOCOL_MAX}"; this server speaks protocol versions ${PROTOCOL_MIN}-${PROTOCOL_MAX}.`, {
        extra: { supported: range(PROTOCOL_MIN, PROTOCOL_MAX) },
        headers: { Upgrade: `docsync/${PROTOCOL_MAX}` },
      });
    }
  }

  function authenticate(req: http.IncomingMessage): Principal {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer[ \t]+([\x21-\x7e]{1,1024})[ \t]*$/i.exec(h) : null;
    if (!m) {
      throw new SyncServerError(401, 'unauthorized', 'Send "Authorization: Bearer <api key>".', { headers: { 'WWW-Authenticate': 'Bearer realm="docsync"' } });
    }
    const p = keys.authenticate(m[1]);
    if (!p) throw new SyncServerError(401, 'unauthorized', 'The API key is not valid.', { headers: { 'WWW-Authenticate': 'Bearer realm="docsync", error="invalid_token"' } });
    return p;
  }

  function methods(req: http.IncomingMessage, allowed: string[]): void {
    if (!allowed.includes(String(req.method))) {
      throw new SyncServerError(405, 'method_not_allowed', `Use ${allowed.join(' or ')}.`, { headers: { Allow: allowed.join(', ') } });
    }
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext): Promise<number> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw badRequest('The request target is not a valid URL.');
    }
    if (closing) res.setHeader('Connection', 'close');
    const segs = url.pathname.split('/').slice(1);
    if (segs[0] !== 'v1') throw new SyncServerError(404, 'not_found', 'No such endpoint; the API lives under /v1.');

    if (segs.length === 2 && segs[1] === 'health') {
      methods(req, ['GET', 'HEAD']);
      await store.health();
      return sendJson(req, res, 200, { status: 'ok', serverTime: o.now() });
    }
    if (segs.length === 2 && segs[1] === 'info') {
      methods(req, ['GET', 'HEAD']);
      checkProtocol(req);
      authenticate(req);
      return sendJson(req, res, 200, { protocol: { min: PROTOCOL_MIN, max: PROTOCOL_MAX }, serverTime: o.now(), limits: o.limits, capabilities: SERVER_CAPABILITIES });
    }
    if (segs.length === 4 && segs[1] === 'datasets' && (segs[3] === 'push' || segs[3] === 'changes' || segs[3] === 'collections')) {
      methods(req, segs[3] === 'push' ? ['POST'] : ['GET', 'HEAD']);
      checkProtocol(req);
      const principal = authenticate(req);
      let name: string;
      try {
        name = decodeURIComponent(segs[2]);
      } catch {
        throw badRequest('The dataset name is not valid percent-encoding.');
      }
      if (!isValidName(name)) throw badRequest('Invalid dataset name: use 1-128 characters without path separators, "..", control characters or surrounding spaces.');
      ctx.entry.dataset = name;
      if (!allows(principal, name)) throw new SyncServerError(403, 'forbidden', 'This API key is not allowed to use this dataset.');
      if (segs[3] === 'collections') return collections(req, res, ctx, name);
      return segs[3] === 'push' ? push(req, res, ctx, name, principal) : changes(req, res, ctx, name, url);
    }
    throw new SyncServerError(404, 'not_found', 'No such endpoint.');
  }

  async function push(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, name: string, principal: Principal): Promise<number> {
    const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
      throw new SyncServerError(415, 'unsupported_media_type', 'Send the push body as Content-Type: application/json.');
    }
    const raw = await readBody(req, o.limits.maxPushBytes);
    ctx.bodyRead = true;
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw badRequest('The body is not valid JSON.');
    }
    const body = parsePushRequest(json, { maxOps: o.limits.maxOpsPerPush });
    ctx.entry.replicaId = body.replicaId;
    ctx.entry.ops = body.ops.length;
    const ds = await store.dataset(name);
    ctx.dataset = ds;
    const result = await store.push(ds, body, principal.keyHash);
    // A result per op: gzipped when large (a push of 1,000 ops answers ~50 KB of JSON).
    return send(req, res, JSON.stringify(result), { status: 200, contentType: 'application/json; charset=utf-8', compress: true });
  }

  async function changes(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, name: string, url: URL): Promise<number> {
    const q = parseChangesQuery(url.searchParams);
    const ds = await store.dataset(name);
    ctx.dataset = ds;
    const waitMs = Math.min(q.wait ?? 0, o.limits.maxWaitSec) * 1000;
    const deadline = performance.now() + waitMs;
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    for (;;) {
      const last = waitMs <= 0 || closing || performance.now() >= deadline - 1;
      // Listen before reading: a push committed while the page is read (a store that reads over
      // the network) still wakes this request.
      const read = new AbortController();
      const wake = last ? null : store.waitForChange(ds, deadline - performance.now(), AbortSignal.any([gone.signal, read.signal]));
      let page;
      try {
        page = await store.changesPage(ds, q, last);
      } catch (err) {
        read.abort();
        throw err;
      }
      if (page) {
        read.abort();
        ctx.entry.changes = page.changes;
        return send(req, res, page.body, { status: 200, contentType: 'application/json; charset=utf-8', compress: true });
      }
      await wake;
      if (gone.signal.aborted) return 0;
    }
  }

  /**
   * The dataset's collections with the highest version of each (added within protocol 1: a
   * client that syncs a whole database discovers collections other replicas created). Reading
   * never creates the dataset: an unknown one is `404 dataset_not_found` (an older server answers
   * this path `404 not_found`, which is how a client tells the two apart).
   */
  async function collections(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, name: string): Promise<number> {
    const ds = await store.existing(name);
    if (!ds) throw new SyncServerError(404, 'dataset_not_found', 'No such dataset: nothing was pushed to it yet.');
    ctx.dataset = ds;
    const { epoch, head, collections: list } = await store.collections(ds);
    const body = { epoch, serverTime: o.now(), head, collections: list };
    return send(req, res, JSON.stringify(body), { status: 200, contentType: 'application/json; charset=utf-8', compress: true });
  }

  // ---------------------------------------------------------------------------------------
  // Timers: tombstone purge, key file reload

  const timers: NodeJS.Timeout[] = [];
  if (o.purgeIntervalMs > 0) {
    const t = setInterval(() => {
      store.purge().catch((err) => o.errorLog(`purge failed: ${describeError(err)}`));
    }, o.purgeIntervalMs);
    t.unref();
    timers.push(t);
  }
  if (o.keysReloadIntervalMs > 0) {
    const watched = [...(o.dataDir ? [storedKeysPath(o.dataDir)] : []), ...(o.apiKeysFile ? [o.apiKeysFile] : [])];
    const stamps = new Map<string, string>();
    const stamp = async (f: string): Promise<string> => {
      try {
        const s = await fs.promises.stat(f);
        return `${s.mtimeMs}:${s.size}:${s.ino}`;
      } catch {
        return 'absent';
      }
    };
    for (const f of watched) stamps.set(f, await stamp(f));
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        if (databaseKeys) {
          try {
            keys.set('stored', storedToEntries(await databaseKeys.list()));
          } catch (err) {
            o.errorLog(`could not reload API keys from the database: ${describeError(err)} (keeping the previous keys)`);
          }
        }
        for (const f of watched) {
          const now = await stamp(f);
          if (now === stamps.get(f)) continue;
          stamps.set(f, now);
          try {
            if (f === o.apiKeysFile) keys.set('file', now === 'absent' ? [] : parseKeysFile(await fs.promises.readFile(f, 'utf8'), f));
            else if (o.dataDir) keys.set('stored', storedToEntries(await readStoredKeys(o.dataDir)));
          } catch (err) {
            o.errorLog(`could not reload API keys from ${f}: ${describeError(err)} (keeping the previous keys)`);
          }
        }
      })().finally(() => { busy = false; });
    }, o.keysReloadIntervalMs);
    t.unref();
    timers.push(t);
  }
  if (keys.size === 0) {
    o.errorLog('warning: no API keys are configured; every request except /v1/health will get 401. Use --api-key, --api-keys-file, WISEJSON_SYNC_API_KEYS or "keys create".');
  }

  // ---------------------------------------------------------------------------------------
  // Listen

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    for (const t of timers) clearInterval(t);
    await store.close().catch(() => undefined);
    await databaseKeys?.close().catch(() => undefined);
    await release();
    throw err;
  }
  server.on('error', (err) => o.errorLog(`http server error: ${describeError(err)}`));
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = o.host.includes(':') ? `[${o.host}]` : o.host;

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    if (!closed) {
      closed = (async () => {
        closing = true;
        for (const t of timers) clearInterval(t);
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        store.wakeAll();
        if (inflight > 0) {
          await new Promise<void>((resolve) => {
            drained = resolve;
            const t = setTimeout(resolve, o.shutdownTimeoutMs);
            t.unref();
          });
        }
        server.closeAllConnections();
        await serverClosed;
        await store.close();
        await databaseKeys?.close().catch(() => undefined);
        await release();
      })();
    }
    return closed;
  };

  return {
    url: `http://${hostForUrl}:${port}`,
    host: o.host,
    port,
    close,
    purgeTombstones: () => store.purge(),
  };
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${err.message}`;
  }
  return 'unknown error';
}

function toServerError(e: unknown, o: ResolvedServerOptions): SyncServerError {
  if (e instanceof SyncServerError) return e;
  if (e instanceof ProtocolError) {
    if (e.code === 'payload_too_large') return new SyncServerError(413, 'payload_too_large', e.message, { extra: { maxOpsPerPush: o.limits.maxOpsPerPush } });
    return new SyncServerError(400, 'invalid_request', e.message, { extra: { path: e.path } });
  }
  o.errorLog(`internal error: ${describeError(e)}`);
  return new SyncServerError(500, 'internal', 'The server failed to handle the request. Retry later; a retried push is answered idempotently.', { headers: { 'Retry-After': '5' } });
}
