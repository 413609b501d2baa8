/**
 * The field samples of the workspace's collections, each taken once and kept until its
 * collection changes: query completion and the tree's Schema nodes read the same sample.
 */
import * as vscode from 'vscode';
import type { DatabaseRegistry, OpenDatabase } from '../databases/database-registry';
import { sampleFields, type FieldSample } from './field-sample';

export class FieldSamples implements vscode.Disposable {
  /** Per collection (`<database id>\0<collection>`). */
  private readonly samples = new Map<string, Promise<FieldSample>>();
  private readonly dropped = new vscode.EventEmitter<{ database: OpenDatabase; collection: string }>();
  /** A kept sample was dropped because its collection changed (the next read samples again). */
  readonly onDidDrop = this.dropped.event;
  private readonly disposables: vscode.Disposable[];

  constructor(registry: DatabaseRegistry) {
    this.disposables = [
      this.dropped,
      registry.onDidChangeDatabases(() => this.samples.clear()),
      registry.onDidChangeData((e) => {
        if (this.samples.delete(keyOf(e.database.id, e.collection))) this.dropped.fire({ database: e.database, collection: e.collection });
      }),
    ];
  }

  /** The sample of `collection` (taken now if none is kept; a failed one is not kept). */
  of(database: OpenDatabase, collection: string): Promise<FieldSample> {
    const key = keyOf(database.id, collection);
    let sample = this.samples.get(key);
    if (!sample) {
      sample = database.db.collection(collection).then((c) => sampleFields(c));
      this.samples.set(key, sample);
      sample.catch(() => {
        if (this.samples.get(key) === sample) this.samples.delete(key);
      });
    }
    return sample;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

const keyOf = (database: string, collection: string): string => `${database}\0${collection}`;
