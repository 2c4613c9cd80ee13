/**
 * Test helpers: an `EventSink` that records every call (copying the bytes, which decoders reuse), and
 * loaders for the peer fixtures and the committed sample events.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AttributeMap, DynamoDbEventName, EventSink, RejectReason } from '../../src/core/types.js';

export type SinkCall =
  | { kind: 'json'; recordIndex: number; text: string; fallbackTimeMs: number; arrivalMs: number }
  | {
      kind: 'image';
      recordIndex: number;
      eventName: DynamoDbEventName;
      newImage: AttributeMap | undefined;
      oldImage: AttributeMap | undefined;
      fallbackTimeMs: number;
      arrivalMs: number;
    }
  | { kind: 'reject'; recordIndex: number; reason: RejectReason; detail: string };

export class RecordingSink implements EventSink {
  public readonly calls: SinkCall[] = [];

  public ingestJson(
    bytes: Uint8Array,
    start: number,
    end: number,
    recordIndex: number,
    fallbackTimeMs: number,
    arrivalMs: number,
  ): void {
    if (start < 0 || end < start || end > bytes.length)
      throw new Error(`bad range [${start}, ${end}) of ${bytes.length} bytes`);
    const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
    this.calls.push({ kind: 'json', recordIndex, text, fallbackTimeMs, arrivalMs });
  }

  public ingestImage(
    eventName: DynamoDbEventName,
    newImage: AttributeMap | undefined,
    oldImage: AttributeMap | undefined,
    recordIndex: number,
    fallbackTimeMs: number,
    arrivalMs: number,
  ): void {
    this.calls.push({ kind: 'image', recordIndex, eventName, newImage, oldImage, fallbackTimeMs, arrivalMs });
  }

  public reject(recordIndex: number, reason: RejectReason, detail: string): void {
    this.calls.push({ kind: 'reject', recordIndex, reason, detail });
  }

  public json(): Array<Extract<SinkCall, { kind: 'json' }>> {
    return this.calls.filter((c): c is Extract<SinkCall, { kind: 'json' }> => c.kind === 'json');
  }

  public images(): Array<Extract<SinkCall, { kind: 'image' }>> {
    return this.calls.filter((c): c is Extract<SinkCall, { kind: 'image' }> => c.kind === 'image');
  }

  public rejects(): Array<Extract<SinkCall, { kind: 'reject' }>> {
    return this.calls.filter((c): c is Extract<SinkCall, { kind: 'reject' }> => c.kind === 'reject');
  }

  /** Record indexes that got at least one call of any kind. */
  public touchedIndexes(): Set<number> {
    return new Set(this.calls.map((c) => c.recordIndex));
  }
}

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const PEER_EVENTS_DIR = resolve(REPO_ROOT, 'test/fixtures/peer-events');
export const EVENTS_DIR = resolve(REPO_ROOT, 'events');

/** A real captured event; fails loudly (never skips) when the fixtures folder is missing. */
export function loadPeerEvent<T>(name: string): T {
  if (!existsSync(PEER_EVENTS_DIR)) {
    throw new Error(
      `peer fixtures folder is missing: expected ${PEER_EVENTS_DIR} (test/fixtures/peer-events in the repository); restore it with git checkout`,
    );
  }
  const file = resolve(PEER_EVENTS_DIR, name);
  if (!existsSync(file)) throw new Error(`peer fixture ${name} is missing from ${PEER_EVENTS_DIR}`);
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** A committed sample event from `events/`. */
export function loadSampleEvent<T>(name: string): T {
  return JSON.parse(readFileSync(resolve(EVENTS_DIR, name), 'utf8')) as T;
}
