/**
 * The tests' load balancer: an HTTP proxy on 127.0.0.1 that sends each request to the next
 * server instance in turn (no sticky sessions: one client's consecutive requests land on
 * different instances). An instance the test takes out of rotation (as a health check would)
 * gets no more requests; a request whose instance dies under it is answered 502, as nginx does.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export class RoundRobinProxy {
  /** Requests sent to each instance. */
  readonly forwarded: number[];
  /** Called as a request is sent to instance `i` (e.g. to kill it in the middle). */
  onForward: ((i: number, req: http.IncomingMessage) => void) | null = null;
  private readonly out: boolean[];
  private next = 0;
  url = '';

  private constructor(private readonly targets: string[], private readonly server: http.Server) {
    this.forwarded = targets.map(() => 0);
    this.out = targets.map(() => false);
  }

  static async start(targets: string[]): Promise<RoundRobinProxy> {
    const agent = new http.Agent({ keepAlive: true });
    const server = http.createServer();
    const proxy = new RoundRobinProxy(targets, server);
    server.on('request', (req, res) => proxy.forward(req, res, agent));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** Takes instance `i` out of rotation. */
  remove(i: number): void {
    this.out[i] = true;
  }

  private pick(): number {
    for (let n = 0; n < this.targets.length; n++) {
      const i = this.next++ % this.targets.length;
      if (!this.out[i]) return i;
    }
    throw new Error('no instance left in rotation');
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse, agent: http.Agent): void {
    const i = this.pick();
    this.forwarded[i]++;
    const target = new URL(this.targets[i]);
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    const badGateway = (): void => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(502, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Bad gateway', status: 502, code: 'bad_gateway', detail: `instance ${i} did not answer` }));
    };
    up.on('error', badGateway);
    req.pipe(up);
    up.on('finish', () => this.onForward?.(i, req));
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
