/**
 * The structured access log: one JSON object per request. It never contains a header (so no
 * `Authorization`), a key, a query parameter outside a fixed allow-list, or a body.
 */
export interface AccessLogEntry {
  time: string;
  method: string;
  /** Path plus only the allow-listed query parameters. */
  path: string;
  status: number;
  ms: number;
  bytesIn: number;
  bytesOut: number;
  dataset?: string;
  replicaId?: string;
  /** Problem code of an error response. */
  code?: string;
  /** Push: number of ops; changes: number of changes returned. */
  ops?: number;
  changes?: number;
  /** Sanitized `X-Request-Id`. */
  requestId?: string;
}

const QUERY_ALLOW = ['since', 'limit', 'maxBytes', 'wait', 'colls'];

/** `pathname` plus allow-listed query parameters (anything else, e.g. a misplaced key, is dropped). */
export function loggablePath(rawUrl: string | undefined): string {
  try {
    const u = new URL(rawUrl ?? '/', 'http://x');
    const kept = new URLSearchParams();
    for (const k of QUERY_ALLOW) {
      const v = u.searchParams.get(k);
      if (v !== null) kept.set(k, v.slice(0, 200));
    }
    const q = kept.toString();
    return u.pathname.slice(0, 600) + (q ? `?${q}` : '');
  } catch {
    return '(unparsable)';
  }
}

/** Request ids are echoed and logged: keep them short and harmless. */
export function sanitizeRequestId(v: string | string[] | undefined): string | undefined {
  if (typeof v !== 'string') return undefined;
  return /^[A-Za-z0-9_.:-]{1,128}$/.test(v) ? v : undefined;
}

export function stdoutAccessLog(entry: AccessLogEntry): void {
  process.stdout.write(JSON.stringify(entry) + '\n');
}
