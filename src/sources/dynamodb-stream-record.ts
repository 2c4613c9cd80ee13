/**
 * A DynamoDB Streams GetRecords record in the shape Lambda delivers it: what the local emulator feeds the
 * handler and what the replay reads a dropped range back as, so both decode exactly what Lambda would pass.
 */
import type { _Record as DynamoDbStreamsApiRecord } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';

/** The SDK decodes B / BS to bytes; Lambda's event carries them base64, as on the wire. */
function toEventJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toEventJson);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = toEventJson(v);
    }
    return out;
  }
  return value;
}

/**
 * `ApproximateCreationDateTime` becomes epoch seconds (Lambda's form); a record without one gets `fallbackMs`.
 *
 * @example
 * const record = lambdaDynamoDbRecord(page.Records[0], streamArn, 'eu-west-1', Date.now());
 */
export function lambdaDynamoDbRecord(
  r: DynamoDbStreamsApiRecord,
  streamArn: string,
  region: string,
  fallbackMs: number,
): DynamoDBRecord {
  const d = r.dynamodb ?? {};
  const arrivalMs = d.ApproximateCreationDateTime?.getTime() ?? fallbackMs;
  const dynamodb: Record<string, unknown> = { ApproximateCreationDateTime: arrivalMs / 1000 };
  if (d.Keys) dynamodb.Keys = toEventJson(d.Keys);
  if (d.NewImage) dynamodb.NewImage = toEventJson(d.NewImage);
  if (d.OldImage) dynamodb.OldImage = toEventJson(d.OldImage);
  dynamodb.SequenceNumber = d.SequenceNumber ?? '';
  dynamodb.SizeBytes = d.SizeBytes ?? 0;
  dynamodb.StreamViewType = d.StreamViewType;
  const eventRecord: Record<string, unknown> = {
    eventID: r.eventID ?? '',
    eventName: r.eventName ?? '',
    eventVersion: r.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: r.awsRegion ?? region,
    dynamodb,
    eventSourceARN: streamArn,
  };
  // TTL deletions carry the service principal; Lambda passes it through.
  if (r.userIdentity) eventRecord.userIdentity = toEventJson(r.userIdentity);
  return eventRecord as DynamoDBRecord;
}
