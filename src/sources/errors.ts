/**
 * Errors of the source adapters. Bad record data never throws out of a decoder (it becomes a reject on
 * the sink); these errors are for bad options, and for the KPL reader's internal signalling.
 */

/** The decoder was constructed with options it cannot work with. */
export class SourceConfigError extends Error {
  override name = 'SourceConfigError';
}

/**
 * A KPL aggregated record whose protobuf body is malformed. Thrown by the KPL reader and caught by the
 * Kinesis decoder, which turns it into an `Undecodable` reject; it never reaches callers of `decode()`.
 */
export class KplFormatError extends Error {
  override name = 'KplFormatError';
}

/** The KPL encoder was given input it cannot encode (empty list, over-long partition key, over the size cap). */
export class KplEncodeError extends Error {
  override name = 'KplEncodeError';
}

/** Protobuf bytes that do not follow the wire format (truncated varint or field, unsupported wire type). */
export class ProtobufFormatError extends Error {
  override name = 'ProtobufFormatError';
}
