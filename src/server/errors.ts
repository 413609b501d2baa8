/**
 * The server's error type and its RFC 9457 rendering. Every error the HTTP layer answers with
 * is a SyncServerError carrying a stable `code`; anything else becomes `500 internal` with a
 * generic detail (the cause goes to the error log by code and class name only, never a key).
 */
import type { Problem, ProblemCode } from '../sync/protocol';

const TITLES: Record<string, string> = {
  invalid_request: 'Invalid request',
  unauthorized: 'Missing or invalid API key',
  forbidden: 'API key not allowed for this dataset',
  replica_not_owned: 'Replica belongs to another API key',
  dataset_not_found: 'Dataset not found',
  epoch_mismatch: 'Checkpoint epoch does not match the server',
  invalid_checkpoint: 'Checkpoint not issued by this server',
  checkpoint_expired: 'Checkpoint older than the retention horizon',
  payload_too_large: 'Request body too large',
  protocol_unsupported: 'Sync protocol version not supported',
  schema_unsupported: 'Schema version not supported',
  rate_limited: 'Too many requests',
  internal: 'Internal server error',
  unavailable: 'Service unavailable',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  unsupported_media_type: 'Unsupported media type',
};

const RETRYABLE = new Set(['internal', 'unavailable', 'rate_limited']);

export class SyncServerError extends Error {
  readonly code: ProblemCode | string;
  readonly status: number;
  readonly retryable: boolean;
  /** Extra problem members (e.g. `epoch`, `horizon`, `supported`). */
  readonly extra: Record<string, unknown>;
  /** Extra response headers (e.g. `Allow`, `Retry-After`, `WWW-Authenticate`). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: ProblemCode | string,
    detail: string,
    options: { extra?: Record<string, unknown>; headers?: Record<string, string>; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'SyncServerError';
    this.status = status;
    this.code = code;
    this.retryable = options.retryable ?? (RETRYABLE.has(code) || status >= 500);
    this.extra = options.extra ?? {};
    this.headers = options.headers ?? {};
  }

  toProblem(): Problem {
    return {
      type: `urn:docsync:problem:${this.code.replace(/_/g, '-')}`,
      title: TITLES[this.code] ?? 'Error',
      status: this.status,
      detail: this.message,
      code: this.code,
      retryable: this.retryable,
      ...this.extra,
    };
  }
}

export const badRequest = (detail: string, extra?: Record<string, unknown>): SyncServerError =>
  new SyncServerError(400, 'invalid_request', detail, { extra });
