/**
 * Where a rejected record too large for a failure-queue message is kept whole: an S3 bucket in AWS (as
 * Lambda's own on-failure destinations support S3), a directory locally. The queue message points to it.
 * Object keys are derived from shard and sequence number only, so a re-delivered batch overwrites the
 * same object instead of adding one: the store is idempotent like the counters.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { withRetry } from './retry.js';

export interface RecordStore {
  /** Stores `body` (a JSON document) under `key` and returns a URI that names it (s3://... or file://...). */
  put(key: string, body: string, deadlineMs: number): Promise<string>;
}

/** The object key of a rejected record: `<shard>/<sequence number>.json`, both made safe for a path. */
export function recordObjectKey(shardId: string | undefined, sequenceNumber: string, recordIndex: number): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 200);
  return `${safe(shardId ?? 'unknown-shard')}/${safe(sequenceNumber || `record-${recordIndex}`)}.json`;
}

/**
 * S3: needs s3:PutObject on the bucket's objects and nothing else. Encryption at rest is the bucket's
 * default (template.yaml sets SSE), so a bucket with SSE-KMS keeps its key.
 */
export class S3RecordStore implements RecordStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(options: { client: S3Client; bucket: string; prefix?: string }) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? 'rejected/';
  }

  async put(key: string, body: string, deadlineMs: number): Promise<string> {
    const objectKey = this.prefix + key;
    await withRetry(
      () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: objectKey,
            Body: body,
            ContentType: 'application/json',
          }),
        ),
      { deadlineMs },
    );
    return `s3://${this.bucket}/${objectKey}`;
  }
}

/** A local directory (npm start, tests): one file per record, the same keys as in S3. */
export class DirectoryRecordStore implements RecordStore {
  private readonly directory: string;

  constructor(directory: string) {
    this.directory = resolve(directory);
  }

  async put(key: string, body: string): Promise<string> {
    const file = join(this.directory, key.replace(/\//g, '__'));
    await mkdir(this.directory, { recursive: true });
    await writeFile(file, body, 'utf8');
    return `file://${file}`;
  }
}
