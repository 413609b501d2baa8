/**
 * API keys. Only SHA-256 hashes are kept in memory and on disk; a presented key is hashed and
 * compared with every known hash using `crypto.timingSafeEqual` (no early exit), so timing says
 * nothing about which key, or how much of one, matched. Keys are scoped to datasets.
 *
 * Sources, merged (a key listed twice gets the union of its datasets):
 *  - `--api-key key` (every dataset) / `--api-key key:ds1,ds2`;
 *  - `--api-keys-file` lines: `key`, `key dataset`, `key ds1,ds2`, `key *`, `sha256:<hex> [datasets]`;
 *  - `WISEJSON_SYNC_API_KEYS="key1,key2:dataset"`;
 *  - `<data>/keys.json`, written by `keys create` (hashes only), re-read when it changes.
 *
 * No function here ever puts a key into an error message.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isValidName } from '../sync/protocol';

export class KeyConfigError extends Error {
  readonly code = 'invalid_keys';
  constructor(message: string) {
    super(message);
    this.name = 'KeyConfigError';
  }
}

/** Who a request authenticated as. */
export interface Principal {
  /** Hex SHA-256 of the key: the identity replicas are bound to. */
  keyHash: string;
  /** Datasets the key may use; `'*'` = all. */
  datasets: ReadonlySet<string> | '*';
}

interface Entry {
  hash: Buffer;
  hex: string;
  datasets: Set<string> | '*';
}

type Source = 'static' | 'file' | 'stored';

const KEY_RE = /^[\x21-\x7e]+$/;

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** A new random key: `wjs_` + 43 base64url characters (256 bits). */
export function generateKey(): string {
  return 'wjs_' + randomBytes(32).toString('base64url');
}

/**
 * Keys given by the operator may be short (the user's examples use "test"); `keys create` makes
 * 256-bit ones, which is what a deployment should use.
 */
function checkKeyText(key: string, where: string): void {
  if (key.length < 1 || key.length > 512 || !KEY_RE.test(key) || key.includes(',') || key.includes(':')) {
    // The key itself is never part of the message.
    throw new KeyConfigError(`${where}: an API key must be 1-512 printable characters without spaces, "," or ":".`);
  }
}

function parseDatasets(list: string, where: string): Set<string> | '*' {
  if (list === '*') return '*';
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new KeyConfigError(`${where}: empty dataset list.`);
  for (const n of names) if (!isValidName(n)) throw new KeyConfigError(`${where}: invalid dataset name (names follow the collection-name rules).`);
  return new Set(names);
}

function union(a: Set<string> | '*', b: Set<string> | '*'): Set<string> | '*' {
  if (a === '*' || b === '*') return '*';
  return new Set([...a, ...b]);
}

/** Parses `"key"` / `"key:ds1,ds2"`. */
export function parseKeySpec(spec: string, where: string): { hash: Buffer; datasets: Set<string> | '*' } {
  const i = spec.indexOf(':');
  const key = i < 0 ? spec : spec.slice(0, i);
  checkKeyText(key, where);
  return { hash: hashKey(key), datasets: i < 0 ? '*' : parseDatasets(spec.slice(i + 1), where) };
}

/** Parses an `--api-keys-file` text. */
export function parseKeysFile(text: string, file: string): { hash: Buffer; datasets: Set<string> | '*' }[] {
  const out: { hash: Buffer; datasets: Set<string> | '*' }[] = [];
  text.split(/\r?\n/).forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${file} line ${n + 1}`;
    const parts = line.split(/\s+/);
    if (parts.length > 2) throw new KeyConfigError(`${where}: expected "key" or "key datasets".`);
    let hash: Buffer;
    if (parts[0].startsWith('sha256:')) {
      const hex = parts[0].slice(7);
      if (!/^[0-9a-f]{64}$/i.test(hex)) throw new KeyConfigError(`${where}: "sha256:" must be followed by 64 hex digits.`);
      hash = Buffer.from(hex, 'hex');
    } else {
      checkKeyText(parts[0], where);
      hash = hashKey(parts[0]);
    }
    out.push({ hash, datasets: parts.length === 2 ? parseDatasets(parts[1], where) : '*' });
  });
  return out;
}

// -----------------------------------------------------------------------------------------
// Stored keys (<data>/keys.json)

export interface StoredKey {
  id: string;
  sha256: string;
  datasets: string[] | '*';
  createdAt: string;
}

interface StoredKeysFile {
  format: 1;
  keys: StoredKey[];
}

export function storedKeysPath(dataDir: string): string {
  return path.join(dataDir, 'keys.json');
}

export async function readStoredKeys(dataDir: string): Promise<StoredKey[]> {
  let text: string;
  try {
    text = await fs.promises.readFile(storedKeysPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let parsed: StoredKeysFile;
  try {
    parsed = JSON.parse(text) as StoredKeysFile;
  } catch {
    throw new KeyConfigError(`${storedKeysPath(dataDir)} is not valid JSON.`);
  }
  if (!parsed || parsed.format !== 1 || !Array.isArray(parsed.keys)) throw new KeyConfigError(`${storedKeysPath(dataDir)} has an unknown format.`);
  for (const k of parsed.keys) {
    if (typeof k.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(k.sha256) || typeof k.id !== 'string' || !(k.datasets === '*' || Array.isArray(k.datasets))) {
      throw new KeyConfigError(`${storedKeysPath(dataDir)} holds a malformed entry.`);
    }
  }
  return parsed.keys;
}

async function writeStoredKeys(dataDir: string, keys: StoredKey[]): Promise<void> {
  await fs.promises.mkdir(dataDir, { recursive: true });
  const file = storedKeysPath(dataDir);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const body: StoredKeysFile = { format: 1, keys };
  const fh = await fs.promises.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(JSON.stringify(body, null, 2) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  try {
    const dh = await fs.promises.open(dataDir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // directory fsync is not supported everywhere (e.g. Windows)
  }
}

/** A new random key for `datasets` (`["*"]` = all) and what is stored of it (its hash). */
export function newStoredKey(datasets: string[]): { key: string; stored: StoredKey } {
  const scope: string[] | '*' = datasets.includes('*') ? '*' : datasets;
  if (scope !== '*') for (const d of scope) if (!isValidName(d)) throw new KeyConfigError('Invalid dataset name (names follow the collection-name rules).');
  const key = generateKey();
  const sha256 = hashKey(key).toString('hex');
  return { key, stored: { id: 'k_' + sha256.slice(0, 12), sha256, datasets: scope === '*' ? '*' : [...new Set(scope)], createdAt: new Date().toISOString() } };
}

/** Creates a key for `datasets` (`["*"]` = all), stores its hash, returns the key (shown once). */
export async function createStoredKey(dataDir: string, datasets: string[]): Promise<{ key: string; id: string }> {
  const { key, stored } = newStoredKey(datasets);
  const keys = await readStoredKeys(dataDir);
  keys.push(stored);
  await writeStoredKeys(dataDir, keys);
  return { key, id: stored.id };
}

export async function revokeStoredKey(dataDir: string, id: string): Promise<boolean> {
  const keys = await readStoredKeys(dataDir);
  const left = keys.filter((k) => k.id !== id);
  if (left.length === keys.length) return false;
  await writeStoredKeys(dataDir, left);
  return true;
}

// -----------------------------------------------------------------------------------------
// The store used by the server

export class KeyStore {
  private bySource: Record<Source, Entry[]> = { static: [], file: [], stored: [] };
  private all: Entry[] = [];

  /** Replaces the keys of one source. */
  set(source: Source, keys: { hash: Buffer; datasets: Set<string> | '*' }[]): void {
    this.bySource[source] = keys.map((k) => ({ hash: k.hash, hex: k.hash.toString('hex'), datasets: k.datasets }));
    this.rebuild();
  }

  private rebuild(): void {
    const merged = new Map<string, Entry>();
    for (const e of [...this.bySource.static, ...this.bySource.file, ...this.bySource.stored]) {
      const prev = merged.get(e.hex);
      merged.set(e.hex, prev ? { ...prev, datasets: union(prev.datasets, e.datasets) } : { ...e });
    }
    this.all = [...merged.values()];
  }

  get size(): number {
    return this.all.length;
  }

  /** The principal for a presented key, or null. Constant-time over every known key. */
  authenticate(presented: string): Principal | null {
    const h = hashKey(presented);
    let found: Entry | null = null;
    for (const e of this.all) {
      if (timingSafeEqual(h, e.hash) && found === null) found = e;
    }
    return found ? { keyHash: found.hex, datasets: found.datasets } : null;
  }
}

export function allows(p: Principal, dataset: string): boolean {
  return p.datasets === '*' || p.datasets.has(dataset);
}

/** Loads the `static` source from `--api-key` specs and the env value. */
export function staticKeys(specs: string[], env: string | null): { hash: Buffer; datasets: Set<string> | '*' }[] {
  const out = specs.map((s, i) => parseKeySpec(s, `--api-key #${i + 1}`));
  if (env) {
    env.split(',').map((s) => s.trim()).filter((s) => s.length > 0).forEach((s, i) => out.push(parseKeySpec(s, `WISEJSON_SYNC_API_KEYS entry #${i + 1}`)));
  }
  return out;
}

export function storedToEntries(keys: StoredKey[]): { hash: Buffer; datasets: Set<string> | '*' }[] {
  return keys.map((k) => ({ hash: Buffer.from(k.sha256, 'hex'), datasets: k.datasets === '*' ? '*' : new Set(k.datasets) }));
}
