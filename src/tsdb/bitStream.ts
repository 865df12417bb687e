/** Appends bits, most significant first, to a growable Uint8Array. */
export class BitWriter {
  bytes: Uint8Array;
  /** Number of bits written so far. */
  bitLength = 0;

  constructor(capacity = 16) {
    this.bytes = new Uint8Array(capacity);
  }

  /** Writes the low `n` bits (0..32) of `value`, most significant first. */
  writeBits(value: number, n: number): void {
    let remaining = n;
    while (remaining > 0) {
      const byteIndex = this.bitLength >>> 3;
      if (byteIndex >= this.bytes.length) this.grow();
      const free = 8 - (this.bitLength & 7);
      const take = remaining < free ? remaining : free;
      const chunk = (value >>> (remaining - take)) & ((1 << take) - 1);
      this.bytes[byteIndex] = (this.bytes[byteIndex] ?? 0) | (chunk << (free - take));
      this.bitLength += take;
      remaining -= take;
    }
  }

  /** Bytes holding every written bit (the last one zero-padded). */
  byteLength(): number {
    return (this.bitLength + 7) >>> 3;
  }

  /** The written bytes, as a view (no copy); valid until the next write. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.byteLength());
  }

  private grow(): void {
    const bigger = new Uint8Array(this.bytes.length * 2);
    bigger.set(this.bytes);
    this.bytes = bigger;
  }
}

/** Reads bits, most significant first, from a Uint8Array written by BitWriter. */
export class BitReader {
  private position = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** Reads `n` (0..32) bits as an unsigned number; a read past the end is a RangeError (a damaged chunk). */
  readBits(n: number): number {
    let out = 0;
    let remaining = n;
    while (remaining > 0) {
      const byteIndex = this.position >>> 3;
      if (byteIndex >= this.bytes.length) throw new RangeError('chunk data ended before its last sample');
      const available = 8 - (this.position & 7);
      const take = remaining < available ? remaining : available;
      const byte = this.bytes[byteIndex] ?? 0;
      const chunk = (byte >>> (available - take)) & ((1 << take) - 1);
      out = ((out << take) | chunk) >>> 0;
      this.position += take;
      remaining -= take;
    }
    return out;
  }

  /** Reads one bit. */
  readBit(): number {
    const byteIndex = this.position >>> 3;
    if (byteIndex >= this.bytes.length) throw new RangeError('chunk data ended before its last sample');
    const bit = ((this.bytes[byteIndex] ?? 0) >>> (7 - (this.position & 7))) & 1;
    this.position++;
    return bit;
  }
}
