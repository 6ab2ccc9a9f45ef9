/**
 * Version numbers and mode codes of the sealog storage format (docs/FORMAT.md). A version change
 * is the only way any byte of a record, personal blob or frame header changes meaning.
 */

/** Version of the record, personal-blob and frame-header layouts this build writes and reads. */
export const FORMAT_VERSION: number = 1;

/**
 * Record encoding mode stored in frame header flags (bits 0–1): records are msgpack arrays whose
 * element positions are fixed by {@link FORMAT_VERSION}. No msgpackr record structures, no shared
 * state between records: every leaf decodes on its own.
 */
export const RECORD_ENCODING_POSITIONAL: number = 0;
