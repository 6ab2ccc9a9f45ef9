/**
 * Growable FIFO ring of items with an optional parallel ring of byte sizes: the per-lane storage
 * of `BatchQueue`. Push and take are O(1) per item with no per-item allocation; the backing arrays
 * double when full (amortised O(1)) and never shrink, so a lane's memory tracks its high-water
 * mark. Deliberately no bounds policy: the queue decides admission, the ring only stores.
 * Items handed out by `takeInto` are written into the caller's array; the ring keeps no reference.
 */

/** Initial slots per ring; a power of two so the index wrap is a mask. */
export const RING_INITIAL_SLOTS: number = 16;

/** FIFO ring of items (internal to the package; not exported from the index). */
export class Ring<T> {
  /** Items currently stored, 0 ≤ count ≤ capacity. */
  count: number;
  private slots: (T | undefined)[];
  private sizes: Float64Array;
  private head: number;
  private mask: number;
  private readonly sized: boolean;

  /**
   * @param sized - keep a byte size per item (false: `push` ignores sizes, `takeInto` returns 0).
   */
  constructor(sized: boolean) {
    this.count = 0;
    this.slots = new Array<T | undefined>(RING_INITIAL_SLOTS).fill(undefined);
    // A zero-length array when unsized keeps the field's type (and the object's shape) fixed.
    this.sizes = new Float64Array(sized ? RING_INITIAL_SLOTS : 0);
    this.head = 0;
    this.mask = RING_INITIAL_SLOTS - 1;
    this.sized = sized;
  }

  /** Appends one item of `size` bytes (ignored when unsized). */
  push(item: T, size: number): void {
    if (this.count > this.mask) this.grow();
    const at = (this.head + this.count) & this.mask;
    this.slots[at] = item;
    if (this.sized) this.sizes[at] = size;
    this.count++;
  }

  /**
   * Moves the `n` oldest items (n ≤ count) into `out[at…at+n)` in FIFO order.
   * @returns the sum of their byte sizes (0 when unsized).
   */
  takeInto(out: T[], at: number, n: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let head = this.head;
    let bytes = 0;
    if (this.sized) {
      const sizes = this.sizes;
      for (let i = 0; i < n; i++) {
        out[at + i] = slots[head] as T;
        // Drop the reference so a consumed item can be collected while the lane stays alive.
        slots[head] = undefined;
        bytes += sizes[head] as number;
        head = (head + 1) & mask;
      }
    } else {
      for (let i = 0; i < n; i++) {
        out[at + i] = slots[head] as T;
        slots[head] = undefined;
        head = (head + 1) & mask;
      }
    }
    this.head = head;
    this.count -= n;
    return bytes;
  }

  private grow(): void {
    const oldSlots = this.slots;
    const oldSizes = this.sizes;
    const oldCap = this.mask + 1;
    const cap = oldCap * 2;
    const slots = new Array<T | undefined>(cap).fill(undefined);
    const sizes = new Float64Array(this.sized ? cap : 0);
    // Unroll the ring into [0, count) so the new head is 0.
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & this.mask;
      slots[i] = oldSlots[from];
      if (this.sized) sizes[i] = oldSizes[from] as number;
    }
    this.slots = slots;
    this.sizes = sizes;
    this.head = 0;
    this.mask = cap - 1;
  }
}
