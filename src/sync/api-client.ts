import { Agent, Dispatcher, ProxyAgent, request } from 'undici';
import * as http from 'node:http';
import * as https from 'node:https';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { PROTOCOL_HEADER } from './protocol';

const gunzip = promisify(zlib.gunzip);

/**
 * What the SyncManager needs from HTTP: GET and POST of JSON, resolving with the parsed body.
 * This is also the shape of a custom `apiClient` (`enableSync({ apiClient })`): paths are
 * relative to the server URL (`/v1/datasets/default/changes?since=0`). A failure rejects with an
 * error; a `status` (or `statusCode`) property tells the HTTP status, `retryAfterMs` a server's
 * Retry-After, `code` a problem+json code.
 */
export interface SyncApiClient {
  get(path: string): Promise<unknown>;
  post(path: string, body: unknown): Promise<unknown>;
}

/** An HTTP failure of a sync request, already classified. Never contains the API key. */
export class SyncHttpError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null,
    readonly retryable: boolean,
    readonly retryAfterMs: number | null = null,
    /** The raw body when the server answered something that is not JSON. */
    readonly body: string | null = null,
  ) {
    super(message);
    this.name = 'SyncHttpError';
  }
}

export interface HttpClientOptions {
  /** Per-request deadline for the response headers and body, ms (a long-poll adds its wait). */
  timeoutMs?: number;
  /** A proxy URL; defaults to HTTPS_PROXY / HTTP_PROXY from the environment. */
  proxy?: string | null;
}

/**
 * The default client: undici with keep-alive connections, a deadline on every request, and the
 * environment's proxy when one is configured. It adds `Authorization: Bearer`, the
 * `Sync-Protocol` header and gzip acceptance (large pages arrive compressed to about a fifth).
 */
export class HttpSyncApiClient implements SyncApiClient {
  private readonly base: URL;
  private readonly dispatcher: Dispatcher;
  private readonly timeoutMs: number;

  private closed = false;
  /** Long-polls in flight (aborted by close()). */
  private readonly polls = new Set<AbortController>();
  /** A proxy is in use: no long-poll (it would bypass the proxy); sync falls back to the interval. */
  readonly proxied: boolean;

  constructor(url: string, private apiKey: string, options: HttpClientOptions = {}) {
    this.base = new URL(url.endsWith('/') ? url : url + '/');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    const proxy = options.proxy === undefined ? proxyFromEnv(this.base) : options.proxy;
    this.proxied = !!proxy;
    this.dispatcher = proxy
      ? new ProxyAgent({ uri: proxy, keepAliveTimeout: 30_000 })
      : new Agent({ keepAliveTimeout: 30_000, connections: 4 });
  }

  setApiKey(key: string): void {
    this.apiKey = key;
  }

  get(path: string): Promise<unknown> {
    return this.send('GET', path, undefined);
  }

  post(path: string, body: unknown): Promise<unknown> {
    return this.send('POST', path, body);
  }

  /**
   * A long-poll GET (`path` carries `wait=`) on its own connection whose socket is unref'd, so an
   * idle live request never keeps a Node process alive. Resolves with the status and the parsed
   * body (null when not JSON); rejects on a network error, the deadline, or close().
   */
  longPoll(path: string, waitSec: number): Promise<{ status: number; body: unknown }> {
    if (this.closed) return Promise.reject(new SyncHttpError('network', 'The sync client is closed.', null, true));
    const url = new URL(path.replace(/^\//, ''), this.base);
    const abort = new AbortController();
    this.polls.add(abort);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const req = transport.request(url, {
        method: 'GET', agent: false, signal: abort.signal, timeout: waitSec * 1000 + this.timeoutMs,
        headers: { authorization: `Bearer ${this.apiKey}`, [PROTOCOL_HEADER.toLowerCase()]: '1', accept: 'application/json' },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let body: unknown = null;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = null;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      });
      req.on('socket', (socket) => socket.unref());
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => reject(new SyncHttpError('network', `Cannot reach the sync server at ${this.base.origin}: ${(err as NodeJS.ErrnoException).code ?? err.message}. Sync retries automatically.`, null, true)));
      req.end();
    }).finally(() => this.polls.delete(abort));
  }

  /** Ends the long-polls in flight (they reject), leaving other requests alone. */
  endLongPolls(): void {
    for (const p of this.polls) p.abort();
  }

  /** Closes the connections and ends any long-poll. Idempotent: a client passed to enableSync is closed with the database too. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.endLongPolls();
    await this.dispatcher.close();
  }

  private async send(method: 'GET' | 'POST', path: string, body: unknown): Promise<unknown> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    const wait = Number(url.searchParams.get('wait') ?? 0) * 1000;
    const timeout = this.timeoutMs + (Number.isFinite(wait) ? wait : 0);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers: {
          authorization: `Bearer ${this.apiKey}`,
          [PROTOCOL_HEADER.toLowerCase()]: '1',
          accept: 'application/json',
          'accept-encoding': 'gzip',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      throw new SyncHttpError('network', `Cannot reach the sync server at ${this.base.origin}: ${e.code ?? e.message ?? String(err)}. Sync retries automatically.`, null, true);
    }
    let text: string;
    try {
      const raw = Buffer.from(await res.body.arrayBuffer());
      const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase();
      text = (encoding.includes('gzip') ? await gunzip(raw) : raw).toString('utf8');
    } catch (err) {
      throw new SyncHttpError('network', `The connection to ${this.base.origin} broke while reading the response (${(err as Error).message}). Sync retries automatically.`, null, true);
    }
    const type = String(res.headers['content-type'] ?? '');
    let json: unknown;
    let parsed = false;
    if (type.includes('json')) {
      try {
        json = JSON.parse(text);
        parsed = true;
      } catch {
        parsed = false;
      }
    }
    if (res.statusCode >= 200 && res.statusCode < 300) {
      if (!parsed) {
        throw new SyncHttpError('bad_response', `The sync server answered ${method} ${url.pathname} with something that is not JSON (${type || 'no content type'}). Is the URL right?`, res.statusCode, true, null, text.slice(0, 65536));
      }
      return json;
    }
    const problem = parsed && json && typeof json === 'object' ? (json as { code?: unknown; detail?: unknown; title?: unknown; retryable?: unknown }) : {};
    const code = typeof problem.code === 'string' ? problem.code : `http_${res.statusCode}`;
    const detail = typeof problem.detail === 'string' ? problem.detail : typeof problem.title === 'string' ? problem.title : `HTTP ${res.statusCode}`;
    const retryable = typeof problem.retryable === 'boolean' ? problem.retryable : isRetryableStatus(res.statusCode);
    throw new SyncHttpError(code, `Sync server: ${detail}`, res.statusCode, retryable, parseRetryAfter(res.headers['retry-after']), parsed ? null : text.slice(0, 65536));
  }
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Retry-After: seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - Date.now());
}

/**
 * The proxy for `url` from HTTPS_PROXY / HTTP_PROXY, or null: none set, the host is listed in
 * NO_PROXY, or the host is loopback (127.0.0.0/8, `localhost`, `[::1]` — URL.hostname keeps the
 * brackets of an IPv6 address).
 */
export function proxyFromEnv(url: URL, env: NodeJS.ProcessEnv = process.env): string | null {
  const noProxy = (env.NO_PROXY ?? env.no_proxy ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (noProxy.some((h) => h === '*' || url.hostname === h || url.hostname.endsWith(h.startsWith('.') ? h : `.${h}`))) return null;
  if (isLoopbackHost(url.hostname)) return null;
  const p = url.protocol === 'https:' ? env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy : env.HTTP_PROXY ?? env.http_proxy;
  return p || null;
}

/** A loopback host name as URL.hostname gives it: 127.x.x.x, localhost, [::1]. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '[::1]' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}
