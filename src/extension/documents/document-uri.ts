/**
 * The `wisejson:` URIs under which documents open as ordinary JSON editors. Pure functions on
 * `{ scheme, path, query }` (no `vscode` import): wrap a result with `vscode.Uri.from(...)`,
 * which keeps the path exactly as given.
 *
 * - a database:        `wisejson:/?db=<folder>`
 * - a collection:      `wisejson:/<collection>?db=<folder>`
 * - a document:        `wisejson:/<collection>/<id>.json?db=<folder>`
 * - a new document:    `wisejson:/<collection>/New Document <n>.json?db=<folder>&new=1`
 *
 * `<folder>` is the database folder's absolute path, `encodeURIComponent`-ed. In the path, `%`
 * and `/` inside a collection name or an id are written `%25` and `%2F`, so any id round-trips.
 */
import { WiseJSONError } from '../../engine/errors';

/** The URI scheme of WiseJSON documents. */
export const DOCUMENT_SCHEME = 'wisejson';

/** The parts of a URI that these functions read and build (a `vscode.Uri` has them all). */
export interface UriParts {
  readonly scheme: string;
  readonly path: string;
  readonly query: string;
}

/** A stored document. `databaseId` is the database folder's absolute path. */
export interface DocumentRef {
  readonly databaseId: string;
  readonly collection: string;
  readonly id: string;
}

/** A document being written in an editor, not inserted yet. */
export interface NewDocumentRef {
  readonly databaseId: string;
  readonly collection: string;
  readonly newDocument: true;
  /** The editor's file name without `.json`, e.g. `New Document 3`. */
  readonly name: string;
}

/** What any `wisejson:` URI names. */
export type ResourceRef =
  | { readonly kind: 'database'; readonly databaseId: string }
  | { readonly kind: 'collection'; readonly databaseId: string; readonly collection: string }
  | ({ readonly kind: 'document' } & DocumentRef)
  | ({ readonly kind: 'new-document' } & NewDocumentRef);

/** A URI that is not a WiseJSON database, collection or document URI. */
export class DocumentUriError extends WiseJSONError {
  constructor(message: string) {
    super('INVALID_DOCUMENT_URI', message);
  }
}

const EXTENSION = '.json';
let newDocumentCount = 0;

/** The URI of a database (the root directory of its collections). */
export function databaseUri(databaseId: string): UriParts {
  return { scheme: DOCUMENT_SCHEME, path: '/', query: databaseQuery(databaseId) };
}

/** The URI of a collection (a directory of documents). */
export function collectionUri(databaseId: string, collection: string): UriParts {
  return { scheme: DOCUMENT_SCHEME, path: `/${escapeSegment(collection)}`, query: databaseQuery(databaseId) };
}

/** The URI of the document with `_id` = `id`. */
export function documentUri(databaseId: string, collection: string, id: string): UriParts {
  return { scheme: DOCUMENT_SCHEME, path: `/${escapeSegment(collection)}/${escapeSegment(id)}${EXTENSION}`, query: databaseQuery(databaseId) };
}

/**
 * The URI of a new, not yet inserted document of `collection`. Each call (without `n`) gives a
 * new name: `New Document 1`, `New Document 2`, … for this process.
 */
export function newDocumentUri(databaseId: string, collection: string, n: number = ++newDocumentCount): UriParts {
  return {
    scheme: DOCUMENT_SCHEME,
    path: `/${escapeSegment(collection)}/New Document ${n}${EXTENSION}`,
    query: `${databaseQuery(databaseId)}&new=1`,
  };
}

/**
 * The document (or new document) a URI names.
 * @throws DocumentUriError for any other URI (another scheme, a directory, no `db`).
 */
export function parseDocumentUri(uri: UriParts): DocumentRef | NewDocumentRef {
  const ref = parseResourceUri(uri);
  if (ref.kind === 'document') return { databaseId: ref.databaseId, collection: ref.collection, id: ref.id };
  if (ref.kind === 'new-document') return { databaseId: ref.databaseId, collection: ref.collection, newDocument: true, name: ref.name };
  throw new DocumentUriError(`${describeUri(uri)} names a ${ref.kind}, not a document. A document's URI is wisejson:/<collection>/<id>.json?db=<database folder>.`);
}

/**
 * What a `wisejson:` URI names: a database, a collection, a document or a new document.
 * @throws DocumentUriError when it is none of them.
 */
export function parseResourceUri(uri: UriParts): ResourceRef {
  if (uri.scheme !== DOCUMENT_SCHEME) throw new DocumentUriError(`${describeUri(uri)} is not a WiseJSON URI (its scheme is "${uri.scheme}", not "${DOCUMENT_SCHEME}").`);
  const params = parseQuery(uri.query);
  const databaseId = params.get('db');
  if (!databaseId) throw new DocumentUriError(`${describeUri(uri)} does not say which database it belongs to (its query has no db=<database folder>).`);
  const isNew = params.get('new') === '1';
  if (uri.path === '/' || uri.path === '') {
    if (isNew) throw new DocumentUriError(`${describeUri(uri)} is marked new=1 but names no document.`);
    return { kind: 'database', databaseId };
  }
  const segments = uri.path.split('/');
  if (segments[0] !== '' || segments.length > 3 || segments.slice(1).some((s) => s === '')) {
    throw new DocumentUriError(`${describeUri(uri)} is not a WiseJSON path: expected /<collection> or /<collection>/<id>.json.`);
  }
  const collection = unescapeSegment(segments[1]);
  if (segments.length === 2) {
    if (isNew) throw new DocumentUriError(`${describeUri(uri)} is marked new=1 but names no document.`);
    return { kind: 'collection', databaseId, collection };
  }
  const file = segments[2];
  if (!file.endsWith(EXTENSION) || file.length === EXTENSION.length) {
    throw new DocumentUriError(`${describeUri(uri)} is not a WiseJSON document: a document's file name is <id>.json.`);
  }
  const name = unescapeSegment(file.slice(0, -EXTENSION.length));
  if (isNew) return { kind: 'new-document', databaseId, collection, newDocument: true, name };
  return { kind: 'document', databaseId, collection, id: name };
}

/** True for a `wisejson:` URI of a new, not yet inserted document. */
export function isNewDocumentUri(uri: UriParts): boolean {
  return uri.scheme === DOCUMENT_SCHEME && parseQuery(uri.query).get('new') === '1';
}

/** `%` → `%25`, `/` → `%2F`: a collection name or id as one path segment. */
export function escapeSegment(text: string): string {
  return text.replace(/%/g, '%25').replace(/\//g, '%2F');
}

/** The inverse of {@link escapeSegment}; other `%xx` sequences are left as they are. */
export function unescapeSegment(segment: string): string {
  return segment.replace(/%(25|2[Ff])/g, (_, hex: string) => (hex === '25' ? '%' : '/'));
}

function databaseQuery(databaseId: string): string {
  return `db=${encodeURIComponent(databaseId)}`;
}

function parseQuery(query: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    const raw = eq < 0 ? '' : part.slice(eq + 1);
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      throw new DocumentUriError(`The query "${query}" has a malformed %-escape in "${key}".`);
    }
    if (!params.has(key)) params.set(key, value);
  }
  return params;
}

function describeUri(uri: UriParts): string {
  return `"${uri.scheme}:${uri.path}${uri.query ? `?${uri.query}` : ''}"`;
}
