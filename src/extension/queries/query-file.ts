/**
 * A query file (`*.wjq`): JSON with comments holding one query object or an array of them, e.g.
 *
 *   { "db": ".wisejson", "collection": "tasks", "find": { "done": false },
 *     "sort": { "updatedAt": -1 }, "projection": { "title": 1 }, "limit": 50 }
 *
 * `db` is a database folder relative to the workspace folder holding the file; exactly one of
 * `find`, `count`, `update` and `delete` holds the filter; `find` takes `sort`, `skip`, `limit`
 * and `projection`; `update` takes `with` (the change). Parsing keeps each query's place in the
 * text (for the CodeLens above it and for "the query under the cursor") and reports every
 * problem with its place, so one bad query never hides the others. The filter, sort, projection
 * and change are checked by the engine's own code (./query-check). No VS Code dependency.
 */
import { getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import type { FindOptions } from '../../engine';
import { checkChange, checkFilter, checkProjection, checkSort, type CheckProblem } from './query-check';

export type QueryKind = 'find' | 'count' | 'update' | 'delete';

export const QUERY_KINDS: readonly QueryKind[] = ['find', 'count', 'update', 'delete'];

export interface FileQuery {
  db: string;
  collection: string;
  kind: QueryKind;
  /** The filter (the value of `find`, `count`, `update` or `delete`). */
  filter: Record<string, unknown>;
  sort?: FindOptions['sort'];
  skip?: number;
  limit?: number;
  projection?: Record<string, unknown>;
  /** The change of an `update`. */
  with?: Record<string, unknown>;
}

/** A problem at `offset` (UTF-16 units) spanning `length`. */
export interface QueryProblem {
  offset: number;
  length: number;
  message: string;
}

export interface QueryEntry {
  /** Where the query object is in the text. */
  offset: number;
  length: number;
  /** The query, or null when it has problems. */
  query: FileQuery | null;
  problems: QueryProblem[];
}

export interface QueryFile {
  entries: QueryEntry[];
  /** Problems of the file as a whole: JSON syntax, a root that is not a query or an array of them. */
  problems: QueryProblem[];
}

const KNOWN = new Set(['db', 'collection', ...QUERY_KINDS, 'sort', 'skip', 'limit', 'projection', 'with']);
const FIND_ONLY = ['sort', 'skip', 'limit', 'projection'] as const;

export function parseQueryFile(text: string): QueryFile {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: false, allowTrailingComma: true, allowEmptyContent: true });
  const problems: QueryProblem[] = errors.map((e) => ({ offset: e.offset, length: e.length, message: syntaxMessage(printParseErrorCode(e.error)) }));
  const entries: QueryEntry[] = [];
  if (!root) return { entries, problems };
  const objects = root.type === 'array' ? root.children ?? [] : [root];
  for (const node of objects) {
    if (node.type !== 'object') {
      problems.push({ offset: node.offset, length: node.length, message: 'A query is an object: { "db": …, "collection": …, "find": { … } }.' });
      continue;
    }
    entries.push(readQuery(node));
  }
  return { entries, problems };
}

/** A query as the text of a query file (the inverse of {@link parseQueryFile}). */
export function queryText(query: FileQuery): string {
  const { db, collection, kind, filter, with: change, ...find } = query;
  const object: Record<string, unknown> = { db, collection, [kind]: filter };
  if (kind === 'update') object.with = change;
  if (kind === 'find') Object.assign(object, find);
  return JSON.stringify(object, null, 2) + '\n';
}

/** The query whose text holds `offset` (the cursor), or the nearest one before it. */
export function entryAt(file: QueryFile, offset: number): QueryEntry | undefined {
  let best: QueryEntry | undefined;
  for (const e of file.entries) if (e.offset <= offset) best = e;
  return best;
}

function readQuery(node: Node): QueryEntry {
  const problems: QueryProblem[] = [];
  const at = (n: Node, message: string): void => {
    problems.push({ offset: n.offset, length: n.length, message });
  };
  const props = new Map<string, { key: Node; value: Node }>();
  for (const p of node.children ?? []) {
    const [key, value] = p.children ?? [];
    if (!key || !value) continue;
    const name = String(key.value);
    if (!KNOWN.has(name)) at(key, `Unknown key "${name}": a query has db, collection, one of find, count, update and delete, and for find sort, skip, limit and projection (with for update).`);
    else if (props.has(name)) at(key, `"${name}" is given twice.`);
    props.set(name, { key, value });
  }
  const str = (name: 'db' | 'collection'): string | undefined => {
    const p = props.get(name);
    if (!p) {
      at(node, `The query has no "${name}"${name === 'db' ? ' (a database folder relative to the workspace folder, e.g. ".wisejson")' : ''}.`);
      return undefined;
    }
    if (p.value.type !== 'string' || String(p.value.value).trim() === '') {
      at(p.value, `"${name}" must be a non-empty string.`);
      return undefined;
    }
    return String(p.value.value);
  };
  const db = str('db');
  const collection = str('collection');
  const kinds = QUERY_KINDS.filter((k) => props.has(k));
  let kind: QueryKind | undefined;
  if (kinds.length === 0) at(node, 'The query says what to do: one of "find", "count", "update" or "delete", holding a filter ({} for every document).');
  else if (kinds.length > 1) at(props.get(kinds[1])!.key, `One query does one thing: "${kinds[0]}" and "${kinds[1]}" are both given.`);
  else kind = kinds[0];
  const object = (name: string): Record<string, unknown> | undefined => {
    const p = props.get(name);
    if (!p) return undefined;
    if (p.value.type !== 'object') {
      at(p.value, `"${name}" must be an object.`);
      return undefined;
    }
    return getNodeValue(p.value) as Record<string, unknown>;
  };
  /** Reports what the engine finds wrong with the part `name` of the query. */
  const engineCheck = (name: string, check: (node: Node) => CheckProblem | undefined): void => {
    const p = props.get(name);
    const problem = p && p.value.type === 'object' ? check(p.value) : undefined;
    if (problem) at(problem.node, problem.message);
  };
  const filter = kind ? object(kind) : undefined;
  if (kind && filter) engineCheck(kind, checkFilter);
  const query: Partial<FileQuery> = {};
  if (kind) {
    for (const name of FIND_ONLY) if (kind !== 'find' && props.has(name)) at(props.get(name)!.key, `"${name}" goes with "find" only.`);
    if (kind !== 'update' && props.has('with')) at(props.get('with')!.key, '"with" goes with "update" only.');
    if (kind === 'update' && !props.has('with')) at(props.get('update')!.key, 'An update needs "with": the change, e.g. { "$set": { "done": true } } (without operators it merges).');
  }
  const sort = object('sort');
  if (sort) {
    engineCheck('sort', checkSort);
    query.sort = sort as FindOptions['sort'];
  }
  for (const name of ['skip', 'limit'] as const) {
    const p = props.get(name);
    if (!p) continue;
    const v = getNodeValue(p.value) as unknown;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) at(p.value, `"${name}" must be a whole number, 0 or more.`);
    else query[name] = v;
  }
  const projection = object('projection');
  if (projection) {
    engineCheck('projection', checkProjection);
    query.projection = projection;
  }
  const change = object('with');
  if (change) {
    engineCheck('with', checkChange);
    query.with = change;
  }
  const ok = problems.length === 0 && db !== undefined && collection !== undefined && kind !== undefined && filter !== undefined;
  return {
    offset: node.offset,
    length: node.length,
    query: ok ? ({ ...query, db, collection, kind, filter } as FileQuery) : null,
    problems,
  };
}

/** jsonc-parser's error codes ("CommaExpected") as a sentence. */
function syntaxMessage(code: string): string {
  const words = code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return `JSON syntax: ${words}.`;
}
