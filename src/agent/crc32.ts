import * as zlib from 'node:zlib';

/** CRC-32 (IEEE 802.3, the zlib/PNG polynomial) lookup table, one entry per byte value. */
const table = buildTable();

function buildTable(): Uint32Array {
  const out = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    out[n] = c >>> 0;
  }
  return out;
}

/**
 * CRC-32 of `data` computed with a lookup table, continuing from `previous` (the CRC of the bytes before
 * it). Portable fallback for Node releases whose node:zlib has no crc32 (before 20.15).
 */
export function crc32Table(data: Uint8Array, previous = 0): number {
  let c = ~previous;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// Read through the namespace so a Node without zlib.crc32 yields undefined instead of a link error.
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `data`, continuing from `previous`: zlib's native one when this Node has it, else the table. */
export const crc32: (data: Uint8Array, previous?: number) => number =
  typeof nativeCrc32 === 'function' ? (data, previous = 0) => nativeCrc32(data, previous) : crc32Table;
