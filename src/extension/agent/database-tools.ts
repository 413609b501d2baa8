/**
 * What the chat agent's WiseJSON tools answer, as text for a language model: the databases open
 * in the workspace and their collections, a collection's schema (a field sample) and indexes, a
 * read-only query or count (results capped, the cap stated), and a query's explain. The engine
 * does the work (the same `find`, `count` and `explain` as everywhere); no VS Code dependency,
 * so the registration (./agent-tools) stays thin.
 */
import * as path from 'node:path';
import type { FindOptions } from '../../engine';
import { CONFLICTS_COLLECTION } from '../../sync/protocol';
import type { OpenDatabase } from '../databases/database-registry';
import { existingCollection, runQuery, QueryRunError } from '../queries/query-runner';
import { sampleFields } from '../schema/field-sample';

/** A query tool returns at most this many documents (the model is told when there are more). */
export const MAX_TOOL_RESULTS = 100;
/** …and this many when the input names no limit. */
export const DEFAULT_TOOL_RESULTS = 20;

/** How the tools name a database: its workspace folder and its folder in `wisejson.databases`. */
export function toolName(database: OpenDatabase): string {
  return path.isAbsolute(database.label) ? database.label : `${database.folder.name}/${database.label}`;
}

/** The open database `name` names (its tool name, its setting when only one has it, or its path). */
export function findDatabase(databases: readonly OpenDatabase[], name: unknown): OpenDatabase {
  if (typeof name !== 'string' || name === '') {
    throw new QueryRunError('NO_DATABASE', `Name a database: one of ${databases.map(toolName).join(', ') || '(none is open)'}.`);
  }
  const exact = databases.find((d) => toolName(d) === name || d.id === name);
  if (exact) return exact;
  const bySetting = databases.filter((d) => d.label === name || d.setting === name);
  if (bySetting.length === 1) return bySetting[0];
  throw new QueryRunError('NO_DATABASE', `No open database is named "${name}"; the open ones: ${databases.map(toolName).join(', ') || 'none'}. List them with the WiseJSON databases tool.`);
}

/** Every open database with its collections and their document counts. */
export async function listDatabases(databases: readonly OpenDatabase[]): Promise<string> {
  if (databases.length === 0) return 'No WiseJSON database is open in this workspace (the setting wisejson.databases names their folders; the default is .wisejson in each workspace folder).';
  const lines = [`${databases.length === 1 ? 'One WiseJSON database is' : `${databases.length} WiseJSON databases are`} open (database: its collections with their document counts):`];
  for (const d of databases) {
    const parts: string[] = [];
    for (const name of (await d.db.getCollectionNames()).sort()) {
      const count = await (await d.db.collection(name)).count();
      parts.push(name === CONFLICTS_COLLECTION ? `${name} (${count}; open sync conflict records)` : `${name} (${count})`);
    }
    lines.push(`- ${toolName(d)}${d.readOnly ? ' [read-only: the workspace is not trusted]' : ''}: ${parts.join(', ') || 'no collections yet'}`);
  }
  lines.push('Pass the name before the colon as "database" to the other WiseJSON tools.');
  return lines.join('\n');
}

/** The collection a tool input names (never created by a read). */
const collectionOf = (database: OpenDatabase, name: unknown) => existingCollection(database.db, name, toolName(database));

/** A collection's document count, indexes and sampled fields. */
export async function describeCollection(database: OpenDatabase, collection: unknown): Promise<string> {
  const coll = await collectionOf(database, collection);
  const count = await coll.count();
  const indexes = await coll.getIndexes();
  const { fields, sampled } = await sampleFields(coll);
  const lines = [
    `${toolName(database)}, collection ${coll.name}: ${count} document${count === 1 ? '' : 's'}.`,
    indexes.length === 0
      ? 'Indexes: none (every query other than by _id tests each document).'
      : `Indexes: ${indexes.map((i) => `${i.fieldName} (${i.type})`).join(', ')}; _id is always indexed.`,
  ];
  if (sampled === 0) {
    lines.push('Fields: none (the collection is empty).');
  } else {
    lines.push(`Fields of ${sampled === count ? `all ${sampled}` : `a sample of ${sampled}`} documents (path: share of documents that have it; its JSON types with counts). _id, createdAt and updatedAt are set by the database:`);
    for (const f of fields) lines.push(`- ${f.path}: ${Math.round((f.count / sampled) * 100)} %; ${Object.entries(f.typeCounts).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  }
  return lines.join('\n');
}

export interface QueryToolInput {
  database?: unknown;
  collection?: unknown;
  filter?: unknown;
  sort?: unknown;
  projection?: unknown;
  skip?: unknown;
  limit?: unknown;
  /** Count the matching documents instead of returning them. */
  count?: unknown;
}

function objectOr(value: unknown, what: string, fallback: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'object' || Array.isArray(value)) throw new QueryRunError('INVALID_INPUT', `${what} must be a JSON object, e.g. { "done": false }.`);
  return value as Record<string, unknown>;
}

function countOr(value: unknown, what: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new QueryRunError('INVALID_INPUT', `${what} must be a whole number ≥ 0.`);
  return Math.min(value, max);
}

/** Runs a read-only find or count; a find returns at most {@link MAX_TOOL_RESULTS} documents and says how many matched. */
export async function queryCollection(database: OpenDatabase, input: QueryToolInput): Promise<string> {
  const coll = await collectionOf(database, input.collection);
  const filter = objectOr(input.filter, 'filter', {})!;
  const where = `${toolName(database)}, ${coll.name}, filter ${JSON.stringify(filter)}`;
  if (input.count === true) {
    const o = await runQuery(database.db, { db: database.label, collection: coll.name, kind: 'count', filter });
    return `${where}: ${o.kind === 'count' ? o.count : 0} matching documents.`;
  }
  const limit = countOr(input.limit, 'limit', DEFAULT_TOOL_RESULTS, MAX_TOOL_RESULTS);
  const skip = countOr(input.skip, 'skip', 0);
  const sort = objectOr(input.sort, 'sort', undefined) as FindOptions['sort'];
  const projection = objectOr(input.projection, 'projection', undefined);
  const matching = await coll.count(filter);
  const o = await runQuery(database.db, { db: database.label, collection: coll.name, kind: 'find', filter, sort, projection, skip, limit });
  const docs = o.kind === 'find' ? o.documents : [];
  const capped = input.limit !== undefined && typeof input.limit === 'number' && input.limit > MAX_TOOL_RESULTS ? ` (the limit asked, ${input.limit}, is more than the tools return: at most ${MAX_TOOL_RESULTS})` : '';
  const shown = docs.length === 0
    ? 'none returned'
    : `documents ${skip + 1}–${skip + docs.length} returned${capped}${skip + docs.length < matching ? `; use skip: ${skip + docs.length} for the next ones` : ''}`;
  return `${where}: ${matching} matching document${matching === 1 ? '' : 's'}, ${shown}.\n${JSON.stringify(docs, null, 2)}`;
}

/** How the engine finds a query's documents: the plan, the index, what it examined, the time. */
export async function explainQuery(database: OpenDatabase, input: QueryToolInput): Promise<string> {
  const coll = await collectionOf(database, input.collection);
  const filter = objectOr(input.filter, 'filter', {})!;
  const sort = objectOr(input.sort, 'sort', undefined) as FindOptions['sort'];
  const { explain: e } = await coll.explain(filter, null, { sort });
  const plan = e.plan === 'id' ? 'a lookup by _id' : e.plan === 'index' ? `the index on ${e.index} (${e.keysExamined} index entries read)` : 'a full scan (no index could serve the filter)';
  const lines = [
    `${toolName(database)}, ${coll.name}, filter ${JSON.stringify(filter)}${sort ? `, sort ${JSON.stringify(sort)}` : ''}:`,
    `Plan: ${plan}; ${e.docsExamined} documents tested against the filter, ${e.returned} returned, ${e.ms} ms.`,
  ];
  if (e.indexable.length > 0) lines.push(`An index on ${e.indexable.join(' or ')} could serve this filter (none exists): creating one would avoid the scan.`);
  return lines.join('\n');
}

/** The write tool's actions. */
export type WriteAction = 'insert' | 'update' | 'delete';

export interface WriteToolInput {
  database?: unknown;
  collection?: unknown;
  action?: unknown;
  /** insert: the documents. */
  documents?: unknown;
  /** update, delete: which documents. */
  filter?: unknown;
  /** update: `$set`-style operators, or fields to merge. */
  update?: unknown;
}

/** The most documents one call of the write tool inserts. */
export const MAX_TOOL_INSERTS = 1000;

/** A checked write: what it does, to how many documents, and how to run it. */
export interface PlannedWrite {
  database: OpenDatabase;
  collection: string;
  action: WriteAction;
  /** Documents it inserts, or that match the filter now. */
  touches: number;
  /** A short English summary for the confirmation: "Insert 3 documents into notes". */
  summary: string;
  /** The input as JSON, for the confirmation's detail (shortened). */
  detail: string;
  run(): Promise<string>;
}

/**
 * Checks a write tool input against the database (it must be writable, the collection must exist
 * for an update or delete) and counts what it would touch; `run` then does it in one commit.
 */
export async function planWrite(databases: readonly OpenDatabase[], input: WriteToolInput): Promise<PlannedWrite> {
  const database = findDatabase(databases, input.database);
  if (database.readOnly) {
    throw new QueryRunError('READ_ONLY', `${toolName(database)} is read-only: this workspace is not trusted, and the WiseJSON write tool is refused in an untrusted workspace. Trust the workspace to let the agent write.`);
  }
  const action = input.action;
  if (action !== 'insert' && action !== 'update' && action !== 'delete') throw new QueryRunError('INVALID_INPUT', 'action must be "insert", "update" or "delete".');
  if (typeof input.collection !== 'string' || input.collection === '') throw new QueryRunError('INVALID_INPUT', 'Name the collection.');
  const detail = (v: unknown): string => {
    // A document a line: the confirmation shows what is written without scrolling.
    const text = Array.isArray(v) ? `[\n${v.map((d) => `  ${JSON.stringify(d)}`).join(',\n')}\n]` : JSON.stringify(v, null, 2) ?? '';
    return text.length > 1500 ? `${text.slice(0, 1500)}\n…` : text;
  };
  if (action === 'insert') {
    const docs = input.documents;
    if (!Array.isArray(docs) || docs.length === 0 || docs.some((d) => typeof d !== 'object' || d === null || Array.isArray(d))) {
      throw new QueryRunError('INVALID_INPUT', 'documents must be a non-empty array of JSON objects.');
    }
    if (docs.length > MAX_TOOL_INSERTS) throw new QueryRunError('INVALID_INPUT', `At most ${MAX_TOOL_INSERTS} documents a call; split the insert.`);
    const name = input.collection;
    return {
      database, collection: name, action, touches: docs.length,
      summary: `Insert ${docs.length} document${docs.length === 1 ? '' : 's'} into ${name} (${toolName(database)})`,
      detail: detail(docs),
      run: async () => {
        const inserted = await (await database.db.collection(name)).insertMany(docs as Record<string, unknown>[]);
        return `Inserted ${inserted.length} document${inserted.length === 1 ? '' : 's'} into ${name} in one commit; their _id: ${inserted.map((d) => d._id).join(', ')}.`;
      },
    };
  }
  const coll = await collectionOf(database, input.collection);
  const filter = objectOr(input.filter, 'filter', undefined);
  if (!filter) throw new QueryRunError('INVALID_INPUT', `${action === 'update' ? 'An update' : 'A delete'} needs a filter (use {} for every document).`);
  const touches = await coll.count(filter);
  if (action === 'delete') {
    return {
      database, collection: coll.name, action, touches,
      summary: `Delete ${touches} document${touches === 1 ? '' : 's'} of ${coll.name} (${toolName(database)})`,
      detail: detail({ filter }),
      run: async () => {
        const { deletedCount } = await coll.deleteMany(filter);
        return `Deleted ${deletedCount} document${deletedCount === 1 ? '' : 's'} of ${coll.name} in one commit.`;
      },
    };
  }
  const update = objectOr(input.update, 'update', undefined);
  if (!update || Object.keys(update).length === 0) throw new QueryRunError('INVALID_INPUT', 'An update needs "update": operators such as {"$set": {"done": true}}, or fields to merge.');
  return {
    database, collection: coll.name, action, touches,
    summary: `Update ${touches} document${touches === 1 ? '' : 's'} of ${coll.name} (${toolName(database)})`,
    detail: detail({ filter, update }),
    run: async () => {
      const { matchedCount, modifiedCount } = await coll.updateMany(filter, update);
      return `Updated ${modifiedCount} of ${matchedCount} matching document${matchedCount === 1 ? '' : 's'} of ${coll.name} in one commit.`;
    },
  };
}
