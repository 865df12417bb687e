import { HeadArena, maxSlotBytes, minSlotBytes } from './HeadArena.js';
import { HI, LO, writeDeltaOfDelta, writeXorBits, type BitSink, type XorWindow } from './XorChunk.js';

// A value's two 32-bit halves (see HI): Int32, so V8 keeps them as small integers instead of boxing the
// ones past 2^31.
const scratch = new Float64Array(1);
const scratchHalves = new Int32Array(scratch.buffer);

const empty = new Uint8Array(0);

/**
 * The open (head) Gorilla chunk of every series, as columns indexed by a slot number rather than an object
 * per series: delta-of-delta timestamps and XOR-encoded values appended to a bit stream held in a HeadArena.
 * An object per head cost about 140 bytes plus a boxed number for each of its doubles; the columns cost
 * about 60 bytes a slot. A slot also keeps its series' last timestamp, which outlives the head (see lastT).
 *
 * While one append runs, the slot's stream state is loaded into this object's fields, which makes the table
 * the BitSink and XorWindow the shared Gorilla writers take.
 */
export class HeadChunks implements BitSink, XorWindow {
  private slots = 0;
  private used = 0;
  private readonly vacant: number[] = [];
  private lastTs = new Float64Array(0);
  private minTs = new Float64Array(0);
  private maxTs = new Float64Array(0);
  private deltas = new Float64Array(0);
  private counts = new Int32Array(0);
  private his = new Int32Array(0);
  private los = new Int32Array(0);
  private bitLengths = new Int32Array(0);
  /** Arena address of the slot's stream; -1 with no stream or one in a buffer of its own (see big). */
  private addresses = new Int32Array(0);
  /** Bytes reserved for the stream; 0 when the slot has no head chunk. */
  private capacities = new Int32Array(0);
  /** The XOR window (leading, trailing) of each slot's last value. */
  private windows = new Int8Array(0);
  /** Streams bigger than an arena slab, by slot. */
  private readonly big = new Map<number, Uint8Array>();

  // The slot being appended to, loaded by load() and written back by store().
  leading = -1;
  trailing = 0;
  private current = -1;
  private bytes: Uint8Array = empty;
  private offset = 0;
  private capacity = 0;
  private bitLength = 0;

  constructor(
    private readonly arena: HeadArena,
    initialSlots = 1024,
  ) {
    this.resize(Math.max(1, initialSlots));
  }

  /** A new slot with no head chunk and no last timestamp (-Infinity). */
  allocate(): number {
    const slot = this.vacant.pop() ?? this.used++;
    if (slot >= this.slots) this.resize(this.slots * 2);
    this.lastTs[slot] = -Infinity;
    this.counts[slot] = 0;
    this.capacities[slot] = 0;
    this.addresses[slot] = -1;
    this.bitLengths[slot] = 0;
    return slot;
  }

  /** Gives a slot back (its head chunk too); it must not be used afterwards. */
  free(slot: number): void {
    this.release(slot);
    this.vacant.push(slot);
  }

  /** The newest timestamp appended to the slot (or set by setLastT); -Infinity before any. */
  lastT(slot: number): number {
    return this.lastTs[slot] ?? -Infinity;
  }

  /** Raises what lastT reports, e.g. to the newest sample already in chunk files. */
  setLastT(slot: number, t: number): void {
    this.lastTs[slot] = t;
  }

  /** Samples in the slot's head chunk; 0 when it has none. */
  count(slot: number): number {
    return this.counts[slot] ?? 0;
  }

  minT(slot: number): number {
    return this.minTs[slot] ?? 0;
  }

  maxT(slot: number): number {
    return this.maxTs[slot] ?? 0;
  }

  /** Bytes holding every bit of the head chunk (the last one zero-padded). */
  byteLength(slot: number): number {
    return ((this.bitLengths[slot] ?? 0) + 7) >>> 3;
  }

  /** The head chunk's bytes, as a view (no copy); valid until the slot is next appended to or released. */
  view(slot: number): Uint8Array {
    const capacity = this.capacities[slot] ?? 0;
    if (capacity === 0) return empty;
    const length = this.byteLength(slot);
    const address = this.addresses[slot] ?? -1;
    if (address < 0) return (this.big.get(slot) ?? empty).subarray(0, length);
    const offset = address % maxSlotBytes;
    return this.arena.slabOf(address).subarray(offset, offset + length);
  }

  /**
   * Appends a sample; the caller guarantees t > maxT and integer milliseconds. A slot without a head chunk
   * starts one, reserving `capacity` bytes (a full chunk's size predicts its successor's).
   */
  append(slot: number, t: number, v: number, capacity = minSlotBytes): void {
    scratch[0] = v;
    const hi = scratchHalves[HI] ?? 0;
    const lo = scratchHalves[LO] ?? 0;
    const count = this.counts[slot] ?? 0;
    if (count === 0) this.start(slot, capacity);
    this.load(slot);
    if (count === 0) {
      this.minTs[slot] = t;
      this.deltas[slot] = 0;
      this.writeBits(hi, 32);
      this.writeBits(lo, 32);
    } else {
      const delta = t - (this.maxTs[slot] ?? 0);
      writeDeltaOfDelta(this, delta - (this.deltas[slot] ?? 0));
      this.deltas[slot] = delta;
      writeXorBits(this, this, hi ^ (this.his[slot] ?? 0), lo ^ (this.los[slot] ?? 0));
    }
    this.his[slot] = hi;
    this.los[slot] = lo;
    this.maxTs[slot] = t;
    this.lastTs[slot] = t;
    this.counts[slot] = count + 1;
    this.bitLengths[slot] = this.bitLength;
    this.windows[2 * slot] = this.leading;
    this.windows[2 * slot + 1] = this.trailing;
    this.current = -1;
  }

  /** Drops the slot's head chunk (after sealing it, or by retention); lastT stays. */
  release(slot: number): void {
    const capacity = this.capacities[slot] ?? 0;
    if (capacity > 0) {
      const address = this.addresses[slot] ?? -1;
      if (address >= 0) this.arena.give(address, capacity);
      else this.big.delete(slot);
    }
    this.capacities[slot] = 0;
    this.addresses[slot] = -1;
    this.counts[slot] = 0;
    this.bitLengths[slot] = 0;
  }

  /** Writes the low `n` bits (0..32) of `value`, most significant first, to the slot being appended to. */
  writeBits(value: number, n: number): void {
    const free = 8 - (this.bitLength & 7);
    if (n <= free) {
      // Most writes (the one-bit codes of an unchanged delta or value) fit in the current byte.
      const byteIndex = this.bitLength >>> 3;
      if (byteIndex >= this.capacity) this.grow();
      const at = this.offset + byteIndex;
      this.bytes[at] = (this.bytes[at] ?? 0) | ((value & ((1 << n) - 1)) << (free - n));
      this.bitLength += n;
      return;
    }
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

  private start(slot: number, bytes: number): void {
    this.release(slot);
    const size = HeadArena.slotSize(bytes);
    if (size > maxSlotBytes) this.big.set(slot, new Uint8Array(size));
    else this.addresses[slot] = this.arena.take(size);
    this.capacities[slot] = size;
    this.windows[2 * slot] = -1;
    this.windows[2 * slot + 1] = 0;
  }

  private load(slot: number): void {
    this.current = slot;
    this.capacity = this.capacities[slot] ?? 0;
    this.bitLength = this.bitLengths[slot] ?? 0;
    this.leading = this.windows[2 * slot] ?? -1;
    this.trailing = this.windows[2 * slot + 1] ?? 0;
    const address = this.addresses[slot] ?? -1;
    if (address < 0) {
      this.bytes = this.big.get(slot) ?? empty;
      this.offset = 0;
    } else {
      this.bytes = this.arena.slabOf(address);
      this.offset = address % maxSlotBytes;
    }
  }

  // Doubling, not one slot size up: every size a head passes through leaves slots behind in slabs that
  // slower heads keep alive, so fewer, bigger steps hold less memory.
  private grow(): void {
    const slot = this.current;
    if (slot < 0 || this.capacity === 0) throw new Error('head chunk written outside an append');
    const used = (this.bitLength + 7) >>> 3;
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
    // A loop rather than set(subarray()): no view object per grow, and heads are a few hundred bytes.
    for (let i = 0; i < used; i++) bytes[offset + i] = this.bytes[this.offset + i] ?? 0;
    const previous = this.addresses[slot] ?? -1;
    if (previous >= 0) this.arena.give(previous, this.capacity);
    if (address >= 0) this.big.delete(slot);
    else this.big.set(slot, bytes);
    this.addresses[slot] = address;
    this.capacities[slot] = size;
    this.bytes = bytes;
    this.offset = offset;
    this.capacity = size;
  }

  private resize(slots: number): void {
    const grow = <A extends Float64Array | Int32Array | Int8Array>(
      old: A,
      make: (n: number) => A,
      per = 1,
    ): A => {
      const next = make(slots * per);
      next.set(old);
      return next;
    };
    this.lastTs = grow(this.lastTs, (n) => new Float64Array(n));
    this.minTs = grow(this.minTs, (n) => new Float64Array(n));
    this.maxTs = grow(this.maxTs, (n) => new Float64Array(n));
    this.deltas = grow(this.deltas, (n) => new Float64Array(n));
    this.counts = grow(this.counts, (n) => new Int32Array(n));
    this.his = grow(this.his, (n) => new Int32Array(n));
    this.los = grow(this.los, (n) => new Int32Array(n));
    this.bitLengths = grow(this.bitLengths, (n) => new Int32Array(n));
    this.addresses = grow(this.addresses, (n) => new Int32Array(n));
    this.capacities = grow(this.capacities, (n) => new Int32Array(n));
    this.windows = grow(this.windows, (n) => new Int8Array(n), 2);
    this.slots = slots;
  }
}

/** What sealing needs of a head chunk. */
export interface SealableChunk {
  readonly count: number;
  readonly minT: number;
  readonly maxT: number;
  view(): Uint8Array;
}

/** Arena of encoders created without one (tests, tools); a store passes its own. */
const sharedArena = new HeadArena();

/**
 * One Gorilla chunk being appended to, on its own (tests, tools, transcoding): a HeadChunks of one slot.
 * The store keeps its heads in one HeadChunks instead.
 */
export class XorEncoder implements SealableChunk {
  private readonly table: HeadChunks;
  private readonly slot: number;
  private released = false;

  constructor(
    arena: HeadArena = sharedArena,
    private readonly initialCapacity = minSlotBytes,
  ) {
    this.table = new HeadChunks(arena, 1);
    this.slot = this.table.allocate();
  }

  /** Appends a sample; the caller guarantees t > maxT and integer milliseconds. */
  append(t: number, v: number): void {
    if (this.released) throw new Error('head chunk written after release()');
    this.table.append(this.slot, t, v, this.initialCapacity);
  }

  get count(): number {
    return this.table.count(this.slot);
  }

  get minT(): number {
    return this.table.minT(this.slot);
  }

  get maxT(): number {
    return this.table.maxT(this.slot);
  }

  byteLength(): number {
    return this.table.byteLength(this.slot);
  }

  view(): Uint8Array {
    return this.table.view(this.slot);
  }

  /** Gives the chunk's memory back to the arena; the encoder must not be appended to afterwards. */
  release(): void {
    this.table.release(this.slot);
    this.released = true;
  }
}
