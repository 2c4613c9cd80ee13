/** Failure-queue messages stay within what SQS accepts, whatever the reasons and details hold. */
import { describe, expect, it } from 'vitest';
import {
  boundedBody,
  MAX_SQS_PAYLOAD_BYTES,
  sqsSafeJson,
  type RejectedRecordMessage,
} from '../../../src/sink/failure-destination.js';

const message = (reasons: RejectedRecordMessage['reasons']): RejectedRecordMessage => ({
  source: 'streamtally',
  reasons,
  recordIndex: 3,
  shardId: 'shardId-000000000000',
  sequenceNumber: '49590000000000000000000000000000000000000000000000000003',
});

describe('failure-queue message bodies', () => {
  it('escape the code points SQS refuses (U+FFFE, U+FFFF) and still parse to the same message', () => {
    const m = message([{ reason: 'invalid_value', metric: 'm', count: 1, details: ['bad \uffff\ufffe value'] }]);
    const body = sqsSafeJson(m);
    expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(JSON.parse(body)).toEqual(m);
  });

  it('the largest summary the config allows (every reason x 64 metrics x 3 long details) fits under 256 KiB', () => {
    const reasons: RejectedRecordMessage['reasons'] = [];
    for (let r = 0; r < 11; r++)
      for (let m = 0; m <= 64; m++)
        reasons.push({
          reason: `reason_${r}`,
          metric: `metric_${m}`.padEnd(128, 'x'),
          count: 1_000_000,
          details: [0, 1, 2].map(() => '\u20ac'.repeat(303)),
        });
    const full = sqsSafeJson(message(reasons));
    expect(Buffer.byteLength(full)).toBeGreaterThan(MAX_SQS_PAYLOAD_BYTES);
    const body = boundedBody(message(reasons), MAX_SQS_PAYLOAD_BYTES);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_SQS_PAYLOAD_BYTES);
    const parsed = JSON.parse(body) as RejectedRecordMessage;
    expect(parsed.detailsOmitted).toBe(true);
    // Reasons and counts are never dropped, only details.
    expect(parsed.reasons).toHaveLength(reasons.length);
    expect(parsed.reasons.every((r) => r.count === 1_000_000)).toBe(true);
  });
});
