import type { CachedSeriesText, SampleColumnSink } from './expositionTypes.js';

/**
 * The samples of one body column by column, for the scrape loop: a parse with a series cache writes here
 * instead of making an object (and a boxed value) per sample. Reused from body to body of one target.
 */
export class SampleColumns implements SampleColumnSink {
  /** Samples of the last body. */
  length = 0;
  /** Each sample's series cache entry. */
  readonly entries: CachedSeriesText[] = [];
  values = new Float64Array(256);
  /** Each sample's own timestamp in milliseconds; NaN when the body gave none. */
  timestamps = new Float64Array(256);

  /** Empties the columns for the next body. */
  clear(): void {
    this.length = 0;
  }

  push(entry: CachedSeriesText, value: number, timestampMs: number | undefined): void {
    const i = this.length;
    if (i === this.values.length) this.grow();
    this.entries[i] = entry;
    this.values[i] = value;
    this.timestamps[i] = timestampMs ?? Number.NaN;
    this.length = i + 1;
  }

  /** Drops entries beyond the last body, so a body that shrank does not keep old entries alive. */
  trim(): void {
    if (this.entries.length > this.length) this.entries.length = this.length;
  }

  private grow(): void {
    const values = new Float64Array(this.values.length * 2);
    const timestamps = new Float64Array(this.values.length * 2);
    values.set(this.values);
    timestamps.set(this.timestamps);
    this.values = values;
    this.timestamps = timestamps;
  }
}
