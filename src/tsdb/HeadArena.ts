/** Bytes per slab; slots of one size class are carved from slabs of their own. */
const slabBytes = 1 << 18;
/** Smallest slot; every slot size is this times a power of two, or one and a half times one. */
export const minSlotBytes = 32;

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
