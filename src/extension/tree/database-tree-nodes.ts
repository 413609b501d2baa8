/**
 * The nodes of the Databases view: workspace folder → database → collection → documents (paged,
 * "Load more" as an item) . Nodes know their parent (so `reveal` works) and are kept as stable
 * instances so that a change refreshes just the node it touches.
 */
import * as vscode from 'vscode';
import type { Doc } from '../../engine';
import type { OpenDatabase } from '../databases/database-registry';
import type { SampledField } from '../schema/field-sample';

export type TreeNode = FolderNode | DatabaseNode | CollectionNode | DocumentNode | LoadMoreNode | ConflictsNode | ConflictNode | IndexesNode | IndexNode | SchemaNode | SchemaFieldNode | MessageNode;

export class FolderNode {
  readonly kind = 'folder';
  readonly parent = undefined;
  constructor(readonly folder: vscode.WorkspaceFolder) {}
  get id(): string {
    return `folder:${this.folder.uri.toString()}`;
  }
}

export class DatabaseNode {
  readonly kind = 'database';
  constructor(readonly parent: FolderNode, readonly database: OpenDatabase) {}
  get id(): string {
    return `db:${this.database.id}`;
  }
}

/** A collection filter: the query as the user typed it and parsed. */
export interface CollectionFilter {
  text: string;
  query: Record<string, unknown>;
}

export class CollectionNode {
  readonly kind = 'collection';
  /** The documents loaded so far (the first pages), their count survives a refresh. */
  documents: DocumentNode[] = [];
  /** The cursor of the next page; null when everything is loaded. */
  next: string | null = null;
  loaded = false;
  filter: CollectionFilter | null = null;
  constructor(readonly parent: DatabaseNode, readonly name: string) {}
  get id(): string {
    return `coll:${this.parent.database.id}\u0000${this.name}`;
  }
  get database(): OpenDatabase {
    return this.parent.database;
  }
}

export class DocumentNode {
  readonly kind = 'document';
  constructor(readonly parent: CollectionNode, public doc: Doc) {}
  get id(): string {
    return `doc:${this.parent.database.id}\u0000${this.parent.name}\u0000${this.doc._id}`;
  }
  get documentId(): string {
    return this.doc._id;
  }
}

export class LoadMoreNode {
  readonly kind = 'loadMore';
  constructor(readonly parent: CollectionNode) {}
  get id(): string {
    return `more:${this.parent.id}`;
  }
}

/** The open sync conflict records of a collection (after its documents and "Load more"; only when there are some). */
export class ConflictsNode {
  readonly kind = 'conflicts';
  constructor(readonly parent: CollectionNode, public count: number) {}
  get id(): string {
    return `conflicts:${this.parent.id}`;
  }
  get database(): OpenDatabase {
    return this.parent.database;
  }
}

/** One record of `_conflicts`: a value of a document that lost to a concurrent write. */
export class ConflictNode {
  readonly kind = 'conflict';
  constructor(readonly parent: ConflictsNode, readonly record: Doc) {}
  get id(): string {
    return `conflict:${this.parent.parent.id}\u0000${this.record._id}`;
  }
}

/** The indexes of a collection (after its documents and "Load more"). */
export class IndexesNode {
  readonly kind = 'indexes';
  constructor(readonly parent: CollectionNode) {}
  get id(): string {
    return `indexes:${this.parent.id}`;
  }
  get database(): OpenDatabase {
    return this.parent.database;
  }
}

/** One index of a collection. */
export class IndexNode {
  readonly kind = 'index';
  constructor(readonly parent: IndexesNode, readonly fieldName: string, readonly unique: boolean) {}
  get id(): string {
    return `index:${this.parent.parent.id}\u0000${this.fieldName}`;
  }
}

/** The fields of a sample of a collection's documents (last under a collection, after its indexes). */
export class SchemaNode {
  readonly kind = 'schema';
  constructor(readonly parent: CollectionNode) {}
  get id(): string {
    return `schema:${this.parent.id}`;
  }
  get database(): OpenDatabase {
    return this.parent.database;
  }
}

/** A field of a collection's sampled schema; an object's fields are its children. */
export class SchemaFieldNode {
  readonly kind = 'schemaField';
  constructor(readonly parent: SchemaNode | SchemaFieldNode, readonly field: SampledField, readonly sampled: number) {}
  get schema(): SchemaNode {
    return this.parent instanceof SchemaNode ? this.parent : this.parent.schema;
  }
  get id(): string {
    return `schemaField:${this.schema.parent.id}\u0000${this.field.path}`;
  }
  /** The field's own name (the last part of its path). */
  get name(): string {
    return this.parent instanceof SchemaNode ? this.field.path : this.field.path.slice(this.parent.field.path.length + 1);
  }
}

/** A line of information (an error opening a database, an empty collection). */
export class MessageNode {
  readonly kind = 'message';
  constructor(readonly parent: TreeNode | undefined, readonly key: string, readonly text: string, readonly icon: string, readonly tooltip?: string) {}
  get id(): string {
    return `msg:${this.parent?.id ?? ''}\u0000${this.key}`;
  }
}

/** The document's own name for the tree: its first string name/title/label field, if any. */
export function documentTitle(doc: Doc): string | undefined {
  for (const k of ['name', 'title', 'label']) {
    const v = doc[k];
    if (typeof v === 'string' && v.trim() !== '') return v.length > 80 ? `${v.slice(0, 79)}…` : v;
  }
  return undefined;
}

/** A one-line summary of a document's fields (without _id and the timestamps). */
export function documentSummary(doc: Doc): string {
  const fields = Object.keys(doc).filter((k) => k !== '_id' && k !== '_v' && k !== 'createdAt' && k !== 'updatedAt');
  const text = fields.map((k) => `${k}: ${shortValue(doc[k])}`).join(', ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function shortValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 30 ? `${v.slice(0, 29)}…` : v);
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? String(v);
  return Array.isArray(v) ? `[${v.length}]` : '{…}';
}
