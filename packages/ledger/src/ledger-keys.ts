/**
 * Key material of a ledger's data directory (everything under `<dir>/keys/`, never under `logs/`):
 * the master key (KEK), the blind-index root key, the per-log Ed25519 checkpoint signing keys and
 * the data-subject key store. Secrets at rest are wrapped by the master key; the master key file
 * itself is 0600 (or comes from configuration).
 *
 * Not here: data keys (per log, wrapped, in the log directory — see data-keys.ts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BLIND_INDEX_ROOT_KEY_BYTES,
  type BlindIndexKey,
  blindToken,
  deriveBlindIndexKey,
  generateMasterKey,
  JournalSubjectKeyStore,
  Keyring,
  loadMasterKeyFile,
  type MasterKey,
  NoteSigner,
  saveMasterKeyFile,
  writeFileAtomic,
} from '@sealog/crypto-envelope';

/** Field name under which actor ids are blind-indexed (the record's `subject_token`). */
export const SUBJECT_TOKEN_FIELD = 'actor.id';

/**
 * The key store's id of a data subject, from its tenant and blind token: `<tenant>:<token hex>`.
 * Why the token and not the actor id: a stored record carries `tenant_id` and `subject_token` but
 * (sealed) no actor id, so reads find the subject key of any record without plaintext, and erasure
 * by actor id computes the same id. Tenant ids cannot contain ':' (CONTRACT §1).
 */
export function subjectStoreIdOfToken(tenantId: string, subjectToken: Uint8Array): string {
  return `${tenantId}:${Buffer.from(subjectToken.buffer, subjectToken.byteOffset, subjectToken.byteLength).toString('hex')}`;
}

/** Id given to a master key the ledger generates itself. */
export const GENERATED_MASTER_KEY_ID = 'local-1';
/** Fixed 16-byte key id of the blind-index root key inside its wrapped blob. */
const BLIND_ROOT_KEY_ID = new Uint8Array(16);

/** Where the master key comes from. */
export type MasterKeySource =
  /** Keys given by the caller (configuration); the first wraps nothing new unless it is current. */
  | { readonly keyring: Keyring }
  /** `<dir>/keys/master.key`, generated on first start (reported through `onNotice`). */
  | { readonly generate: true };

/** Everything a ledger needs to seal, index and sign. */
export class LedgerKeys {
  /** Master keys: the current one wraps new keys, the others still unwrap. */
  readonly keyring: Keyring;
  /** Data-subject keys (crypto-shredding). */
  readonly subjects: JournalSubjectKeyStore;
  private readonly keysDir: string;
  private readonly blindRoot: Uint8Array;
  private readonly blindKeys = new Map<string, BlindIndexKey>();

  private constructor(
    keysDir: string,
    keyring: Keyring,
    subjects: JournalSubjectKeyStore,
    blindRoot: Uint8Array,
  ) {
    this.keysDir = keysDir;
    this.keyring = keyring;
    this.subjects = subjects;
    this.blindRoot = blindRoot;
  }

  /** Opens (creating on first start) the key material under `<dir>/keys/`. */
  static async open(
    dir: string,
    source: MasterKeySource,
    onNotice: (message: string) => void,
  ): Promise<LedgerKeys> {
    const keysDir = join(dir, 'keys');
    mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    let keyring: Keyring;
    if ('keyring' in source) {
      keyring = source.keyring;
    } else {
      const path = join(keysDir, 'master.key');
      let master: MasterKey;
      if (existsSync(path)) {
        master = await loadMasterKeyFile(GENERATED_MASTER_KEY_ID, path);
      } else {
        master = generateMasterKey(GENERATED_MASTER_KEY_ID);
        await saveMasterKeyFile(path, master);
        onNotice(
          `generated a new master key in ${path} — it encrypts every log in this data directory; back it up and keep it secret (or configure your own master key)`,
        );
      }
      keyring = new Keyring([master]);
    }
    const blindPath = join(keysDir, 'blind-index.key');
    let blindRoot: Uint8Array;
    if (existsSync(blindPath)) {
      blindRoot = keyring.unwrap(readFileSync(blindPath), 'blind-index-root').material;
    } else {
      blindRoot = new Uint8Array(randomBytes(BLIND_INDEX_ROOT_KEY_BYTES));
      await writeFileAtomic(blindPath, keyring.wrap('blind-index-root', BLIND_ROOT_KEY_ID, blindRoot));
    }
    // Journaled: one fdatasync per batch of new subjects (a file per key cost ~0.7 ms each).
    const subjects = await JournalSubjectKeyStore.open(join(keysDir, 'subjects'), keyring);
    return new LedgerKeys(keysDir, keyring, subjects, blindRoot);
  }

  /** Closes the subject key store (its journal file). */
  async close(): Promise<void> {
    await this.subjects.close();
  }

  /** Blind token of an actor id in a tenant (the record's `subject_token`; 16 bytes). */
  subjectToken(tenantId: string, actorId: string): Uint8Array {
    return blindToken(this.blindKey(tenantId), SUBJECT_TOKEN_FIELD, actorId);
  }

  /**
   * The key store's id of a data subject `(tenant, actor id)`: the tenant and the actor's blind
   * token (see {@link subjectStoreIdOfToken}).
   */
  subjectStoreId(tenantId: string, actorId: string): string {
    return subjectStoreIdOfToken(tenantId, this.subjectToken(tenantId, actorId));
  }

  /** The blind-index key of a tenant (HKDF from the root key; cached). */
  blindKey(tenantId: string): BlindIndexKey {
    let key = this.blindKeys.get(tenantId);
    if (key === undefined) {
      key = deriveBlindIndexKey(this.blindRoot, tenantId);
      this.blindKeys.set(tenantId, key);
    }
    return key;
  }

  /**
   * The checkpoint signing key of a log (Ed25519, C2SP note key named `origin`), created on first
   * use and stored wrapped by the master key in `<dir>/keys/logs/<log_id>.sign`.
   */
  async signer(logId: string, origin: string): Promise<NoteSigner> {
    const dir = join(this.keysDir, 'logs');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `${logId}.sign`);
    const keyId = new Uint8Array(16);
    if (existsSync(path)) {
      const seed = this.keyring.unwrap(readFileSync(path), 'signing-key').material;
      return NoteSigner.fromSeed(origin, seed);
    }
    const seed = new Uint8Array(randomBytes(32));
    await writeFileAtomic(path, this.keyring.wrap('signing-key', keyId, seed));
    return NoteSigner.fromSeed(origin, seed);
  }
}
