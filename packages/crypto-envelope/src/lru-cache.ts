/**
 * A small least-recently-used map for unwrapped subject keys: `get` refreshes an entry, `set`
 * drops the oldest beyond `capacity` (0 = cache nothing). Relies on Map's insertion order.
 */

/** LRU map with a fixed capacity in entries. */
export class LruCache<K, V> {
  readonly #capacity: number;
  readonly #map = new Map<K, V>();

  /** @param capacity - entries kept, integer ≥ 0 (0 disables caching). */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The value for `key`, marking it most recently used. */
  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  /** Stores `value`, evicting the least recently used entry when over capacity. */
  set(key: K, value: V): void {
    if (this.#capacity === 0) return;
    this.#map.set(key, value);
    if (this.#map.size > this.#capacity) {
      const oldest = this.#map.keys().next();
      if (!oldest.done) this.#map.delete(oldest.value);
    }
  }

  /** Forgets `key`. */
  delete(key: K): void {
    this.#map.delete(key);
  }
}
