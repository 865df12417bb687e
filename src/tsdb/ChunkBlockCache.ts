/** Bytes per cached block of a chunk file; aligned, so neighbouring chunks (sealed together) share blocks. */
export const chunkBlockBytes = 1 << 16;
/** Keys are seq × this + block index; a chunk file never reaches 2^21 blocks (128 GiB). */
const blocksPerFile = 1 << 21;

/**
 * Recently read blocks of chunk files, least recently used dropped first once over budget. Prometheus
 * memory-maps its chunk files; a query over many series then reads each block once instead of issuing one
 * read() per chunk. Chunk files are append-only, so a cached block stays right (a short block, read while
 * the file was growing, is read again when a chunk lies beyond it).
 */
export class ChunkBlockCache {
  private readonly blocks = new Map<number, Buffer>();
  private held = 0;

  constructor(private readonly budgetBytes: number) {}

  /** The cached block, if held and at least `minLength` long; marks it recently used. */
  get(seq: number, block: number, minLength: number): Buffer | undefined {
    const key = seq * blocksPerFile + block;
    const found = this.blocks.get(key);
    if (found === undefined || found.length < minLength) return undefined;
    this.blocks.delete(key);
    this.blocks.set(key, found);
    return found;
  }

  /** Keeps a block, evicting the least recently used ones over budget. */
  put(seq: number, block: number, bytes: Buffer): void {
    if (this.budgetBytes <= 0) return;
    const key = seq * blocksPerFile + block;
    const old = this.blocks.get(key);
    if (old !== undefined) {
      this.blocks.delete(key);
      this.held -= old.length;
    }
    this.blocks.set(key, bytes);
    this.held += bytes.length;
    for (const [k, b] of this.blocks) {
      if (this.held <= this.budgetBytes) break;
      this.blocks.delete(k);
      this.held -= b.length;
    }
  }

  /** Forgets every block of one file (deleted by retention). */
  dropFile(seq: number): void {
    for (const [k, b] of this.blocks) {
      if (Math.floor(k / blocksPerFile) !== seq) continue;
      this.blocks.delete(k);
      this.held -= b.length;
    }
  }

  /** Bytes held. */
  bytes(): number {
    return this.held;
  }
}
