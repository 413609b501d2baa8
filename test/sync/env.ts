/**
 * One test's world: an in-process sync server (TestServer, 127.0.0.1:0) in a temp dir, a chaos
 * proxy in front of it, in-process replicas, and a write log for the oracle. `cleanup()` closes
 * and removes all of it.
 */
import * as path from 'node:path';
import type { ServerOptions } from '../../src/server';
import { TestServer } from '../server/helpers';
import { ChaosProxy } from './chaos-proxy';
import { converge, Converged, Replica, ReplicaOptions, rmDir, tmpDir, WriteLog } from './harness';

export class Env {
  server!: TestServer;
  proxy!: ChaosProxy;
  dir = '';
  readonly log = new WriteLog();
  readonly replicas: Replica[] = [];
  readonly cleanups: (() => Promise<void>)[] = [];

  async start(serverOptions: Partial<ServerOptions> = {}): Promise<this> {
    this.dir = await tmpDir('wisejson-chaos-');
    this.server = new TestServer(serverOptions);
    this.server.dir = path.join(this.dir, 'server');
    await this.server.start();
    this.proxy = new ChaosProxy(this.server.url);
    await this.proxy.start();
    return this;
  }

  /** A replica syncing through the proxy (or straight to the server with `direct`). */
  async replica(name: string, options: ReplicaOptions & { direct?: boolean } = {}): Promise<Replica> {
    const r = await Replica.open(path.join(this.dir, name), options.direct ? this.server.url : this.proxy.url, this.log, { name, ...options });
    this.replicas.push(r);
    return r;
  }

  /** Restarts the in-process server on the same data (a new port; the proxy follows). */
  async restartServer(extra: Partial<ServerOptions> = {}): Promise<void> {
    await this.server.restart(extra);
    this.proxy.target = this.server.url;
  }

  /** Syncs every open replica until all equal the server, then checks no write is lost. */
  converge(replicas: Replica[] = this.replicas, opts: Parameters<typeof converge>[3] = {}): Promise<Converged> {
    this.proxy.clear();
    return converge(() => this.server.url, replicas, this.log, opts);
  }

  async cleanup(): Promise<void> {
    for (const c of this.cleanups.splice(0).reverse()) await c().catch(() => undefined);
    for (const r of this.replicas.splice(0)) await r.close().catch(() => undefined);
    await this.proxy?.close().catch(() => undefined);
    await this.server?.stop().catch(() => undefined);
    await rmDir(this.dir);
  }
}
