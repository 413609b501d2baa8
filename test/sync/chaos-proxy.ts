/**
 * A chaos proxy for sync tests: a real HTTP proxy (node:http) on 127.0.0.1:0 in front of a real
 * sync server. Every request is read whole, matched against the rules in order, and then, per the
 * first matching rule's action:
 *
 *  - `pass`            forward, answer with the server's response;
 *  - `drop`            close the client's connection without forwarding (nothing reaches the server);
 *  - `blackhole`       never answer (the client's own timeout ends it); nothing is forwarded;
 *  - `duplicate`       deliver the request to the server twice (one after the other, or both at
 *                      once) and answer with the first or the second response;
 *  - `cutAfterCommit`  forward, wait for the server's whole response (it committed), then close the
 *                      client's connection before a byte of the response is sent;
 *  - `truncate`        forward, send the headers and a prefix of the body; `keepLength` keeps the
 *                      original Content-Length and closes the socket (the client sees a short read),
 *                      otherwise the prefix is sent as a complete chunked body (a short but
 *                      well-framed response);
 *  - `reset`           forward, send the headers and a prefix of the body, then reset the TCP
 *                      connection (RST);
 *  - `respond`         answer a canned response without forwarding (an HTML page, a 503 with
 *                      Retry-After, a 413, a 401, …);
 *  - `rewrite`         forward, then answer with a body computed from the server's response
 *                      (malformed JSON of every kind, a wrong epoch, …).
 *
 * A rule may also delay the request before it is forwarded (`delayMs`), delay the answer
 * (`answerDelayMs`), run an async hook first (`before`, e.g. a local write while a request is in
 * flight), and apply only to its first `times` matching requests. Every exchange is logged with
 * what the server answered (even when the client never saw it) and what the client got.
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type RequestKind = 'push' | 'changes' | 'info' | 'health' | 'other';

export interface ProxyRequest {
  /** 1-based number of the request at the proxy. */
  n: number;
  method: string;
  /** Path and query, as sent by the client. */
  url: string;
  kind: RequestKind;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The parsed JSON body, or undefined. */
  json: unknown;
  /** Date.now() when the whole request had arrived. */
  at: number;
}

export interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body: string | Buffer;
}

export type Action =
  | { kind: 'pass' }
  | { kind: 'drop' }
  | { kind: 'blackhole' }
  | { kind: 'duplicate'; concurrent?: boolean; answer?: 'first' | 'second' }
  | { kind: 'cutAfterCommit' }
  | { kind: 'truncate'; fraction?: number; keepLength?: boolean }
  | { kind: 'reset'; fraction?: number }
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'rewrite'; fn: (up: Upstream, req: ProxyRequest) => Answer };

export interface Rule {
  name?: string;
  /** Which requests the rule applies to (default: all). */
  match?: (req: ProxyRequest) => boolean;
  /** Applies to this many matching requests, then is spent (default: unlimited). */
  times?: number;
  action: Action;
  /** Wait this long before acting (a slow network or server). */
  delayMs?: number;
  /** Wait this long after the server answered, before answering the client. */
  answerDelayMs?: number;
  /** Runs before the action (after delayMs). */
  before?: (req: ProxyRequest) => Promise<void> | void;
}

export interface Exchange {
  req: ProxyRequest;
  rule: string | null;
  action: Action['kind'];
  /** What the server answered (first delivery; both for `duplicate`). */
  upstream: Upstream[];
  /** What the client got. */
  outcome: 'answered' | 'cut' | 'truncated' | 'reset' | 'canned' | 'dropped' | 'blackholed' | 'upstream_error';
  /** Date.now() when the answer (or the cut) happened. */
  doneAt: number | null;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer', 'host', 'accept-encoding', 'content-length']);

export function kindOf(method: string, url: string): RequestKind {
  const p = url.split('?')[0];
  if (/^\/v1\/datasets\/[^/]+\/push$/.test(p)) return 'push';
  if (/^\/v1\/datasets\/[^/]+\/changes$/.test(p)) return 'changes';
  if (p === '/v1/info') return 'info';
  if (p === '/v1/health') return 'health';
  return 'other';
}

/** Parses a body as JSON, or undefined. */
export function jsonOf(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

export class ChaosProxy {
  readonly rules: Rule[] = [];
  readonly log: Exchange[] = [];
  private server: http.Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly held = new Set<http.ServerResponse>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private count = 0;
  private readonly remaining = new Map<Rule, number>();
  port = 0;

  /** @param target the server's base URL, e.g. http://127.0.0.1:4321 (may change later). */
  constructor(public target: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 2000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  async close(): Promise<void> {
    for (const r of this.held) r.destroy();
    this.held.clear();
    const s = this.server;
    this.server = null;
    if (s) {
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeAllConnections();
      for (const sock of this.sockets) sock.destroy();
      await closed;
    }
    this.agent.destroy();
  }

  /** Adds a rule (checked before the rules added earlier when `first`). Returns it. */
  add(rule: Rule, first = false): Rule {
    if (rule.times !== undefined) this.remaining.set(rule, rule.times);
    if (first) this.rules.unshift(rule);
    else this.rules.push(rule);
    return rule;
  }

  /** Removes every rule (the proxy then passes everything through). */
  clear(): void {
    this.rules.length = 0;
    this.remaining.clear();
  }

  remove(rule: Rule): void {
    const i = this.rules.indexOf(rule);
    if (i >= 0) this.rules.splice(i, 1);
    this.remaining.delete(rule);
  }

  /** Exchanges of one kind (push, changes, …). */
  exchanges(kind?: RequestKind): Exchange[] {
    return kind ? this.log.filter((e) => e.req.kind === kind) : [...this.log];
  }

  private pick(req: ProxyRequest): Rule | null {
    for (const r of this.rules) {
      if (r.match && !r.match(req)) continue;
      const left = this.remaining.get(r);
      if (left !== undefined) {
        if (left <= 0) continue;
        this.remaining.set(r, left - 1);
      }
      return r;
    }
    return null;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const c of req) chunks.push(c as Buffer);
    } catch {
      return; // the client went away while sending
    }
    const body = Buffer.concat(chunks);
    const url = req.url ?? '/';
    const info: ProxyRequest = {
      n: ++this.count,
      method: String(req.method),
      url,
      kind: kindOf(String(req.method), url),
      query: new URL(url, 'http://x').searchParams,
      headers: req.headers,
      body,
      json: jsonOf(body),
      at: Date.now(),
    };
    const rule = this.pick(info);
    const action: Action = rule?.action ?? { kind: 'pass' };
    const ex: Exchange = { req: info, rule: rule ? rule.name ?? 'rule' : null, action: action.kind, upstream: [], outcome: 'answered', doneAt: null };
    this.log.push(ex);
    const done = (outcome: Exchange['outcome']): void => {
      ex.outcome = outcome;
      ex.doneAt = Date.now();
    };
    try {
      if (rule?.delayMs) await sleep(rule.delayMs);
      if (rule?.before) await rule.before(info);
      switch (action.kind) {
        case 'drop':
          done('dropped');
          req.socket.destroy();
          return;
        case 'blackhole':
          done('blackholed');
          this.held.add(res);
          res.on('close', () => this.held.delete(res));
          return;
        case 'respond': {
          if (rule?.answerDelayMs) await sleep(rule.answerDelayMs);
          const text = action.body ?? '';
          res.writeHead(action.status, { 'content-length': Buffer.byteLength(text), ...(action.headers ?? {}) });
          res.end(text);
          done('canned');
          return;
        }
        default:
          break;
      }
      let up: Upstream;
      try {
        if (action.kind === 'duplicate') {
          let both: Upstream[];
          if (action.concurrent) both = await Promise.all([this.forward(info), this.forward(info)]);
          else {
            const first = await this.forward(info);
            both = [first, await this.forward(info)];
          }
          ex.upstream.push(...both);
          up = action.answer === 'second' ? both[1] : both[0];
        } else {
          up = await this.forward(info);
          ex.upstream.push(up);
        }
      } catch {
        done('upstream_error');
        req.socket.destroy();
        return;
      }
      if (rule?.answerDelayMs) await sleep(rule.answerDelayMs);
      switch (action.kind) {
        case 'cutAfterCommit':
          done('cut');
          req.socket.destroy();
          return;
        case 'truncate': {
          const part = up.body.subarray(0, Math.floor(up.body.length * (action.fraction ?? 0.5)));
          const headers = copyHeaders(up.headers);
          if (action.keepLength) {
            headers['content-length'] = String(up.body.length);
            res.writeHead(up.status, headers);
            res.write(part, () => {
              done('truncated');
              req.socket.destroy();
            });
          } else {
            res.writeHead(up.status, headers); // no length: chunked, ends cleanly after the prefix
            res.end(part);
            done('truncated');
          }
          return;
        }
        case 'reset': {
          const part = up.body.subarray(0, Math.floor(up.body.length * (action.fraction ?? 0.5)));
          const headers = copyHeaders(up.headers);
          headers['content-length'] = String(up.body.length);
          res.writeHead(up.status, headers);
          res.write(part, () => {
            done('reset');
            const s = req.socket as Socket & { resetAndDestroy?: () => void };
            if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
            else s.destroy();
          });
          return;
        }
        case 'rewrite': {
          const a = action.fn(up, info);
          const out = typeof a.body === 'string' ? Buffer.from(a.body, 'utf8') : a.body;
          const headers = { ...copyHeaders(up.headers), ...(a.headers ?? {}), 'content-length': String(out.length) };
          res.writeHead(a.status ?? up.status, headers);
          res.end(out);
          done('answered');
          return;
        }
        default: {
          const headers = copyHeaders(up.headers);
          headers['content-length'] = String(up.body.length);
          res.writeHead(up.status, headers);
          res.end(up.body);
          done('answered');
        }
      }
    } catch {
      done('upstream_error');
      req.socket.destroy();
    }
  }

  /** Sends the request to the server and reads its whole response. */
  forward(req: ProxyRequest): Promise<Upstream> {
    const target = new URL(this.target);
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
    if (req.body.length > 0 || req.method === 'POST') headers['content-length'] = req.body.length;
    return new Promise<Upstream>((resolve, reject) => {
      const r = http.request(
        { host: target.hostname, port: Number(target.port), method: req.method, path: req.url, headers, agent: this.agent },
        (up) => {
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => resolve({ status: up.statusCode ?? 0, headers: up.headers, body: Buffer.concat(chunks) }));
          up.on('error', reject);
          up.on('aborted', () => reject(new Error('upstream aborted')));
        },
      );
      r.setTimeout(60_000, () => r.destroy(new Error('upstream timeout')));
      r.on('error', reject);
      r.end(req.body);
    });
  }
}

function copyHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (HOP_BY_HOP.has(k) || v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// Canned answers

export const HTML_PAGE = '<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>Captive portal</h1><p>Please log in.</p></body></html>';

export function problem(status: number, code: string, retryable: boolean, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ type: `urn:test:${code}`, title: code, status, detail: `injected ${code}`, code, retryable, ...extra });
}

export const canned = {
  html: (status = 200): Action => ({ kind: 'respond', status, headers: { 'content-type': 'text/html; charset=utf-8' }, body: HTML_PAGE }),
  unavailable: (retryAfter: string, html = false): Action => ({
    kind: 'respond',
    status: 503,
    headers: { 'content-type': html ? 'text/html' : 'application/problem+json', 'retry-after': retryAfter },
    body: html ? HTML_PAGE : problem(503, 'unavailable', true),
  }),
  tooLarge: (html = true): Action => ({
    kind: 'respond',
    status: 413,
    headers: { 'content-type': html ? 'text/html' : 'application/problem+json', connection: 'close' },
    body: html ? '<html><head><title>413 Request Entity Too Large</title></head><body><center><h1>413 Request Entity Too Large</h1></center><hr><center>nginx</center></body></html>' : problem(413, 'payload_too_large', false),
  }),
  unauthorized: (): Action => ({ kind: 'respond', status: 401, headers: { 'content-type': 'application/problem+json' }, body: problem(401, 'unauthorized', false) }),
  json: (status: number, body: string): Action => ({ kind: 'respond', status, headers: { 'content-type': 'application/json' }, body }),
};

/** Rewrites a JSON response body with `fn` (which may mutate and/or return a replacement). */
export function rewriteJson(fn: (body: Record<string, unknown>, req: ProxyRequest) => unknown): Action {
  return {
    kind: 'rewrite',
    fn: (up, req) => {
      const body = JSON.parse(up.body.toString('utf8')) as Record<string, unknown>;
      const out = fn(body, req);
      return { body: typeof out === 'string' ? out : JSON.stringify(out === undefined ? body : out), headers: { 'content-type': 'application/json; charset=utf-8' } };
    },
  };
}

export const isPush = (r: ProxyRequest): boolean => r.kind === 'push';
export const isChanges = (r: ProxyRequest): boolean => r.kind === 'changes';
