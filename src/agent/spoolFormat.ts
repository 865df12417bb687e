import { crc32 } from './crc32.js';

/** Bytes before each payload: u32 payload length, u32 CRC-32 of (seq + payload), u64 sequence number. */
export const recordHeaderBytes = 16;

const segmentPattern = /^(\d{16})\.seg$/;
const twoTo32 = 0x1_0000_0000;

/** The file name of the segment whose first record has sequence number `firstSeq`. */
export function segmentFileName(firstSeq: number): string {
  return `${String(firstSeq).padStart(16, '0')}.seg`;
}

/** The first sequence number encoded in a segment file name, or null when the name is not a segment's. */
export function parseSegmentFileName(name: string): number | null {
  const match = segmentPattern.exec(name);
  return match ? Number(match[1]) : null;
}

/** Frames one record: header (length, checksum, seq) then the payload. */
export function frameRecord(seq: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(recordHeaderBytes + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(seq % twoTo32, 8);
  out.writeUInt32LE(Math.floor(seq / twoTo32), 12);
  out.set(payload, recordHeaderBytes);
  out.writeUInt32LE(crc32(out.subarray(8)), 4);
  return out;
}

/** One framed record found in a buffer. */
export interface FramedRecord {
  readonly seq: number;
  readonly payload: Buffer;
  /** Offset just past this record. */
  readonly end: number;
}

/**
 * Decodes the record starting at `offset` of `data`; returns a reason string when the bytes there are not
 * a complete, intact record (a torn write, garbage or a checksum mismatch).
 */
export function decodeRecordAt(data: Buffer, offset: number): FramedRecord | string {
  if (data.length - offset < recordHeaderBytes) return `incomplete record header at byte ${offset}`;
  const length = data.readUInt32LE(offset);
  const end = offset + recordHeaderBytes + length;
  if (end > data.length)
    return `record at byte ${offset} claims ${length} payload bytes past the end of the file`;
  if (crc32(data.subarray(offset + 8, end)) !== data.readUInt32LE(offset + 4))
    return `checksum mismatch in record at byte ${offset}`;
  const seq = data.readUInt32LE(offset + 8) + data.readUInt32LE(offset + 12) * twoTo32;
  return { seq, payload: data.subarray(offset + recordHeaderBytes, end), end };
}

/** What scanning a segment found: the offsets of its intact leading records and where they stop. */
export interface SegmentScan {
  readonly offsets: number[];
  readonly validBytes: number;
  /** Why the scan stopped before the end of the data, or null when every byte belonged to a good record. */
  readonly problem: string | null;
}

/**
 * Finds the intact records at the start of a segment's bytes, which must carry consecutive sequence numbers
 * from `firstSeq`; everything from the first bad record on is reported as `problem`.
 */
export function scanSegment(data: Buffer, firstSeq: number): SegmentScan {
  const offsets: number[] = [];
  let offset = 0;
  while (offset < data.length) {
    const record = decodeRecordAt(data, offset);
    if (typeof record === 'string') return { offsets, validBytes: offset, problem: record };
    const expected = firstSeq + offsets.length;
    if (record.seq !== expected)
      return {
        offsets,
        validBytes: offset,
        problem: `record at byte ${offset} has seq ${record.seq}, expected ${expected}`,
      };
    offsets.push(offset);
    offset = record.end;
  }
  return { offsets, validBytes: offset, problem: null };
}
