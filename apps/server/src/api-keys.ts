/**
 * API keys: roles and a tenant scope per key, stored hashed in `<data-dir>/keys/api-keys.json`
 * (mode 0600, replaced atomically). A key is 256 random bits; the file holds only its SHA-256,
 * which is enough because the key has full entropy (no password-style stretching needed).
 *
 * Not here: key revocation and listing (`sealog keys`, a later slice). Plain keys are returned
 * once by `create` and never stored or logged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KEY_DIR_MODE, writeFileAtomic } from '@sealog/crypto-envelope';
import { ConfigError } from './errors';

/** Roles a key can hold (CONTRACT §2). */
export const ROLES = ['ingest', 'read', 'export', 'erase', 'admin'] as const;
/** One role. */
export type Role = (typeof ROLES)[number];
/** Tenant scope meaning every tenant. */
export const ALL_TENANTS = '*';
/** File under the data dir holding the hashed keys. */
export const API_KEYS_FILE: string = join('keys', 'api-keys.json');
/** Random bytes in a generated key. */
export const API_KEY_BYTES = 32;
/** Prefix of generated keys, so leaked keys are recognisable by secret scanners. */
export const API_KEY_PREFIX = 'sealog_';

const TENANT_RE = /^[A-Za-z0-9._-]{1,128}$/;

/** What a key may do. */
export interface Principal {
  readonly keyId: string;
  /** A tenant id or `*`. */
  readonly tenantId: string;
  readonly roles: ReadonlySet<Role>;
}

interface StoredKey {
  readonly key_id: string;
  /** Hex SHA-256 of the key. */
  readonly sha256: string;
  readonly tenant_id: string;
  readonly roles: Role[];
  readonly created_at: string;
}

interface KeyFile {
  readonly version: 1;
  readonly keys: StoredKey[];
}

function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** True when `tenant` is a valid scope: a tenant id (CONTRACT §1 grammar) or `*`. */
export function isTenantScope(tenant: unknown): tenant is string {
  return typeof tenant === 'string' && (tenant === ALL_TENANTS || TENANT_RE.test(tenant));
}

/** True when `role` names a known role. */
export function isRole(role: unknown): role is Role {
  return typeof role === 'string' && (ROLES as readonly string[]).includes(role);
}

/** How often `authenticate` checks the key file for changes by other processes, ms. */
export const RELOAD_CHECK_MS = 1000;

/** The hashed key store of one data dir. */
export class ApiKeyStore {
  private readonly path: string;
  private byHash = new Map<string, Principal>();
  private stored: StoredKey[];
  /** Serialises file rewrites so two concurrent `create` calls cannot lose one key. */
  private writing: Promise<void> = Promise.resolve();
  /** mtime + size of the file as loaded, and when it was last checked (epoch ms). */
  private loadedStamp = '';
  private checkedAt = 0;

  private constructor(path: string, stored: StoredKey[]) {
    this.path = path;
    this.stored = stored;
    this.index();
    this.loadedStamp = this.stamp();
    this.checkedAt = Date.now();
  }

  private index(): void {
    const byHash = new Map<string, Principal>();
    for (const k of this.stored) {
      byHash.set(k.sha256, { keyId: k.key_id, tenantId: k.tenant_id, roles: new Set(k.roles) });
    }
    this.byHash = byHash;
  }

  private stamp(): string {
    try {
      const st = statSync(this.path);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return '';
    }
  }

  /**
   * Picks up changes another process (`sealog keys create|revoke`) made to the key file, checking
   * at most once per `RELOAD_CHECK_MS`: a revoked key stops working within about a second.
   */
  private reloadIfChanged(): void {
    const now = Date.now();
    if (now - this.checkedAt < RELOAD_CHECK_MS) return;
    this.checkedAt = now;
    const stamp = this.stamp();
    if (stamp === this.loadedStamp || stamp === '') return;
    try {
      this.stored = parseKeyFile(readFileSync(this.path, 'utf8'), this.path);
      this.index();
      this.loadedStamp = stamp;
    } catch {
      // A file being replaced right now (or damaged): keep the keys already loaded, retry later.
    }
  }

  /**
   * Opens the store. When no key file exists (first start) it creates one holding an admin key
   * with every role on `*`: `adminKey` when given (from `SEALOG_ADMIN_KEY`), else a random key.
   *
   * @returns the store and, on first start only, the plain admin key to show once.
   * @throws {ConfigError} when the file exists but does not parse.
   */
  static async open(
    dataDir: string,
    adminKey?: string,
  ): Promise<{ store: ApiKeyStore; createdAdminKey: string | undefined; adminKeyIgnored: boolean }> {
    const path = join(dataDir, API_KEYS_FILE);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text !== undefined) {
      return {
        store: new ApiKeyStore(path, parseKeyFile(text, path)),
        createdAdminKey: undefined,
        adminKeyIgnored: adminKey !== undefined,
      };
    }
    await mkdir(join(dataDir, 'keys'), { recursive: true, mode: KEY_DIR_MODE });
    const store = new ApiKeyStore(path, []);
    const created = await store.create(ALL_TENANTS, [...ROLES], adminKey);
    return { store, createdAdminKey: created.key, adminKeyIgnored: false };
  }

  /** The principal of a presented key, or `undefined` for an unknown key. */
  authenticate(key: string): Principal | undefined {
    this.reloadIfChanged();
    // Lookup by the hash of a full-entropy secret: timing reveals nothing about stored keys.
    return this.byHash.get(sha256Hex(key));
  }

  /** Every key's id, tenant scope, roles and creation time (never hashes), oldest first. */
  list(): Array<{ key_id: string; tenant_id: string; roles: Role[]; created_at: string }> {
    this.checkedAt = 0;
    this.reloadIfChanged();
    return this.stored.map((k) => ({
      key_id: k.key_id,
      tenant_id: k.tenant_id,
      roles: [...k.roles],
      created_at: k.created_at,
    }));
  }

  /**
   * Deletes a key (persisted before it stops working here; other processes see it within a
   * second). Returns false when no key has that id.
   */
  async revoke(keyId: string): Promise<boolean> {
    let found = false;
    const run = this.writing.then(async () => {
      const keep = this.stored.filter((k) => k.key_id !== keyId);
      found = keep.length !== this.stored.length;
      if (!found) return;
      await writeFileAtomic(
        this.path,
        Buffer.from(`${JSON.stringify({ version: 1, keys: keep }, null, 2)}\n`),
      );
      this.stored = keep;
      this.index();
      this.loadedStamp = this.stamp();
    });
    this.writing = run.catch(() => {});
    await run;
    return found;
  }

  /**
   * Creates a key (random unless `plainKey` is given) and persists its hash before returning.
   * @returns the plain key (show it once) and its id.
   */
  async create(
    tenantId: string,
    roles: readonly Role[],
    plainKey?: string,
  ): Promise<{ key: string; key_id: string }> {
    const key = plainKey ?? API_KEY_PREFIX + randomBytes(API_KEY_BYTES).toString('base64url');
    const entry: StoredKey = {
      key_id: `key_${randomBytes(8).toString('hex')}`,
      sha256: sha256Hex(key),
      tenant_id: tenantId,
      roles: [...new Set(roles)],
      created_at: new Date().toISOString(),
    };
    const run = this.writing.then(async () => {
      // Start from the file as it is now: another process may have added or revoked keys.
      this.checkedAt = 0;
      this.reloadIfChanged();
      const next: KeyFile = { version: 1, keys: [...this.stored, entry] };
      await writeFileAtomic(this.path, Buffer.from(`${JSON.stringify(next, null, 2)}\n`));
      // Publish only after the file is durable: a key that works must survive a restart.
      this.stored = next.keys;
      this.index();
      this.loadedStamp = this.stamp();
    });
    this.writing = run.catch(() => {});
    await run;
    return { key, key_id: entry.key_id };
  }
}

function parseKeyFile(text: string, path: string): StoredKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  const file = parsed as Partial<KeyFile> | null;
  if (file === null || typeof file !== 'object' || file.version !== 1 || !Array.isArray(file.keys)) {
    throw new ConfigError(`${path}: expected {"version": 1, "keys": [...]}`);
  }
  for (const [i, k] of file.keys.entries()) {
    if (
      typeof k?.key_id !== 'string' ||
      typeof k.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(k.sha256) ||
      !isTenantScope(k.tenant_id) ||
      !Array.isArray(k.roles) ||
      !k.roles.every(isRole)
    ) {
      throw new ConfigError(`${path}: keys[${i}] is malformed`);
    }
  }
  return file.keys;
}
