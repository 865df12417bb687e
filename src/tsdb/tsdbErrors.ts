import { SwasError } from '../core/index.js';

/** Data on disk failed its checksum or structure check; the message names the file and offset. */
export class TsdbCorruptionError extends SwasError {}

/** The TSDB options or data directory cannot be used as given. */
export class TsdbConfigError extends SwasError {}
