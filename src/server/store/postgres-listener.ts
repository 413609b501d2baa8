/**
 * How a push committed by any server instance wakes the live requests another instance holds:
 * every commit that moves a dataset's head or epoch sends `NOTIFY wj_change, '<dataset>'` (a
 * trigger, see the PostgreSQL store's migration 4), and each instance LISTENs on a connection of
 * its own. PostgreSQL delivers a notification only when its transaction commits, to every
 * listening session, the notifying one included.
 *
 * A lost connection (PostgreSQL restarted, the network cut) is opened again by itself, backing
 * off from 100 ms to 5 s. Changes committed while nobody listened are not announced, so on losing
 * the connection and on getting it back every waiter is woken to read again (`onGap`): none waits
 * past its `wait` for a change it was not told about.
 */
import { Client } from 'pg';

/** The channel: its payload is the name of the dataset that changed. */
export const CHANGE_CHANNEL = 'wj_change';

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

export class ChangeListener {
  private client: Client | null = null;
  private closed = false;
  private retryMs = RETRY_MIN_MS;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    /** A dataset's head or epoch moved (a commit of any instance). */
    private readonly onChange: (dataset: string) => void,
    /** Notifications may have been missed: every waiter should read again. */
    private readonly onGap: () => void,
  ) {}

  /** Whether notifications arrive now (while not, the store wakes its own waiters itself). */
  get listening(): boolean {
    return this.client !== null;
  }

  /** Connects and listens. Throws when it cannot (at start: the store does not open). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const c = new Client({
      connectionString: this.url,
      application_name: 'wisejson-sync-listen',
      connectionTimeoutMillis: 10_000,
      // A connection cut without a word (a host gone) is noticed by TCP keepalive.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    c.on('notification', (m) => {
      if (m.channel === CHANGE_CHANNEL && m.payload) this.onChange(m.payload);
    });
    c.on('error', () => this.lost(c));
    c.on('end', () => this.lost(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await c.end().catch(() => undefined);
      return;
    }
    this.client = c;
    this.retryMs = RETRY_MIN_MS;
    this.onGap();
  }

  private lost(c: Client): void {
    if (this.client !== c) return;
    this.client = null;
    c.end().catch(() => undefined);
    this.onGap();
    this.reconnectLater();
  }

  private reconnectLater(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect().catch(() => {
        this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
        this.reconnectLater();
      });
    }, this.retryMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => undefined);
  }
}
