// Child process for the spool crash test: appends numbered records with fsync 'always' and prints each
// seq on stdout only after append() has returned, until killed (or until the record limit, as a backstop).
// Usage: node --import tsx test/support/spoolWriter.ts DIR SEGMENT_BYTES PAD_BYTES MAX_RECORDS
import { writeSync } from 'node:fs';
import { Spool } from '../../src/agent/index.js';

/** The record the writer appends: the seq it expects to get, and padding to make segments rotate. */
export interface SpoolWriterRecord {
  readonly expectSeq: number;
  readonly pad: string;
}

function main(args: string[]): void {
  const [dir, segmentBytes, padBytes, maxRecords] = args;
  if (!dir || !segmentBytes || !padBytes || !maxRecords) {
    process.stderr.write('usage: spoolWriter.ts DIR SEGMENT_BYTES PAD_BYTES MAX_RECORDS\n');
    process.exit(2);
  }
  const spool = Spool.open<SpoolWriterRecord>({
    dir,
    maxBytes: 64 << 20,
    segmentBytes: Number(segmentBytes),
    fsync: 'always',
  });
  const pad = 'x'.repeat(Number(padBytes));
  writeSync(1, 'ready\n');
  for (let i = 0; i < Number(maxRecords); i++) {
    const seq = spool.append({ expectSeq: spool.stats().nextSeq, pad });
    writeSync(1, `${seq}\n`);
  }
  spool.close();
}

main(process.argv.slice(2));
