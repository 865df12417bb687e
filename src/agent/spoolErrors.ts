import { SwasError } from '../core/index.js';

/** The spool options or directory cannot be used as given; the message says which and what to change. */
export class SpoolConfigError extends SwasError {}

/** Spool files on disk failed a structure or checksum check that recovery cannot repair by itself. */
export class SpoolCorruptionError extends SwasError {}

/** Writing to the spool directory failed (disk full, I/O error); the record was not stored. */
export class SpoolWriteError extends SwasError {}
