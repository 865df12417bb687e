/** Bytes per slab; slots of one size class are carved from slabs of their own. */
const slabBytes = 1 << 18;
/** Smallest slot; every slot size is this times a power of two, or one and a half times one. */
const minSlotBytes = 32;

/** The size class of a slot size: 32 → 0, 48 → 1, 64 → 2, 96 → 3, … */
function classOf(size: number): number {
  const k = Math.floor(Math.log2(size / minSlotBytes));
  return size === minSlotBytes * 2 ** k ? 2 * k : 2 * k + 1;
}

/**
 * Memory for head chunks: slots carved from shared 256 KiB slabs, reused through free lists. Slot sizes step
 * by 1.5 and 4/3 (32, 48, 64, 96, …) rather than 2, so a head sized for its predecessor wastes about half as
 * much to rounding; a head that outgrows its slot doubles.
 * A typed array per series costs a few hundred bytes of bookkeeping besides its data (object, buffer,
 * backing store); with 100k series that was more than the samples themselves. A slot is an address:
 * slab index × slabBytes + offset. Chunks bigger than a slab get a buffer of their own (address -1).
 */
export class HeadArena {
  private readonly slabs: (Uint8Array | undefined)[] = [];
  /** Slots in use per slab; a slab with none is given back to the system. */
  private readonly live: number[] = [];
  /** Indexes of dropped slabs, reused for new ones so addresses stay small. */
  private readonly vacant: number[] = [];
  private readonly free: number[][] = [];
  /** Per size class: the next unused address of its current slab, or -1. */
  private readonly bump: number[] = [];
  private held = 0;

  /** The smallest slot size that holds `bytes` (at least minSlotBytes). */
  static slotSize(bytes: number): number {
    let size = minSlotBytes;
    // 32 → 48 → 64 → 96 → …: after 2^k comes 1.5 × 2^k, after that 2^(k+1).
    while (size < bytes) size = classOf(size) % 2 === 0 ? size * 1.5 : (size / 3) * 4;
    return size;
  }

  /** A zeroed slot of `size` bytes (a value of slotSize) no larger than a slab; returns its address. */
  take(size: number): number {
    const cls = classOf(size);
    const reused = this.free[cls]?.pop();
    let address: number;
    if (reused !== undefined) {
      address = reused;
    } else {
      address = this.bump[cls] ?? -1;
      if (address < 0) {
        const index = this.vacant.pop() ?? this.slabs.length;
        address = index * slabBytes;
        this.slabs[index] = new Uint8Array(slabBytes);
        this.live[index] = 0;
        this.held++;
      }
      // The slab is used up once the next slot would not fit before its end (a 1.5 × 2^k size leaves a gap).
      const next = address + size;
      this.bump[cls] = (next % slabBytes) + size <= slabBytes && next % slabBytes !== 0 ? next : -1;
    }
    const index = Math.floor(address / slabBytes);
    this.live[index] = (this.live[index] ?? 0) + 1;
    this.slabOf(address).fill(0, address % slabBytes, (address % slabBytes) + size);
    return address;
  }

  /** Returns a slot; a slab left with no slot in use is dropped (heads that all grew past its size). */
  give(address: number, size: number): void {
    const cls = classOf(size);
    let list = this.free[cls];
    if (list === undefined) this.free[cls] = list = [];
    const index = Math.floor(address / slabBytes);
    const live = (this.live[index] ?? 0) - 1;
    this.live[index] = live;
    if (live > 0) {
      list.push(address);
      return;
    }
    this.slabs[index] = undefined;
    this.vacant.push(index);
    this.held--;
    this.free[cls] = list.filter((a) => Math.floor(a / slabBytes) !== index);
    const bump = this.bump[cls] ?? -1;
    if (bump >= 0 && Math.floor(bump / slabBytes) === index) this.bump[cls] = -1;
  }

  slabOf(address: number): Uint8Array {
    const slab = this.slabs[Math.floor(address / slabBytes)];
    if (slab === undefined) throw new RangeError(`head arena has no slab for address ${address}`);
    return slab;
  }

  /** Total bytes of slabs held (for stats and tests). */
  bytes(): number {
    return this.held * slabBytes;
  }
}

/** Largest slot the arena hands out; bigger chunks get their own buffer. */
export const maxSlotBytes = slabBytes;

/**
 * Appends bits, most significant first, into a slot of a HeadArena that grows (moves to a bigger slot) as
 * needed. One object per head chunk, no typed array of its own.
 */
export class ArenaBitWriter {
  /** Number of bits written so far. */
  bitLength = 0;
  private bytes: Uint8Array;
  private offset = 0;
  private capacity: number;
  private address: number;

  constructor(
    private readonly arena: HeadArena,
    capacity = minSlotBytes,
  ) {
    this.capacity = HeadArena.slotSize(capacity);
    if (this.capacity > maxSlotBytes) {
      this.address = -1;
      this.bytes = new Uint8Array(this.capacity);
    } else {
      this.address = arena.take(this.capacity);
      this.bytes = arena.slabOf(this.address);
      this.offset = this.address % maxSlotBytes;
    }
  }

  /** Writes the low `n` bits (0..32) of `value`, most significant first. */
  writeBits(value: number, n: number): void {
    let remaining = n;
    while (remaining > 0) {
      const byteIndex = this.bitLength >>> 3;
      if (byteIndex >= this.capacity) this.grow();
      const at = this.offset + byteIndex;
      const free = 8 - (this.bitLength & 7);
      const take = remaining < free ? remaining : free;
      const chunk = (value >>> (remaining - take)) & ((1 << take) - 1);
      this.bytes[at] = (this.bytes[at] ?? 0) | (chunk << (free - take));
      this.bitLength += take;
      remaining -= take;
    }
  }

  /** Bytes holding every written bit (the last one zero-padded). */
  byteLength(): number {
    return (this.bitLength + 7) >>> 3;
  }

  /** The written bytes, as a view (no copy); valid until the next write or release(). */
  view(): Uint8Array {
    return this.bytes.subarray(this.offset, this.offset + this.byteLength());
  }

  /** Gives the slot back to the arena; the writer must not be used afterwards. */
  release(): void {
    if (this.address >= 0) this.arena.give(this.address, this.capacity);
    this.address = -1;
    this.capacity = 0;
    this.bytes = empty;
    this.offset = 0;
  }

  private grow(): void {
    if (this.capacity === 0) throw new Error('head chunk written after release()');
    const old = this.view();
    // Doubling, not one slot size up: every size a head passes through leaves slots behind in slabs that
    // slower heads keep alive, so fewer, bigger steps hold less memory.
    const size = this.capacity * 2;
    let address = -1;
    let bytes: Uint8Array;
    let offset = 0;
    if (size > maxSlotBytes) {
      bytes = new Uint8Array(size);
    } else {
      address = this.arena.take(size);
      bytes = this.arena.slabOf(address);
      offset = address % maxSlotBytes;
    }
    bytes.set(old, offset);
    if (this.address >= 0) this.arena.give(this.address, this.capacity);
    this.address = address;
    this.bytes = bytes;
    this.offset = offset;
    this.capacity = size;
  }
}

const empty = new Uint8Array(0);
