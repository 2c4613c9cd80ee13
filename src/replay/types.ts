/** Shapes of the replay: the failure queue's messages as the replay sees them, and what it did with each. */
import type { StreamFailureRecordBatchInfo } from './messages.js';

export type MessageKind = 'range' | 'reject' | 'unknown';

/** What the replay did (or, in a dry run, would do) with one queue message. */
export interface MessageOutcome {
  messageId: string;
  kind: MessageKind;
  /** `replayed`: its records are durable and the message was deleted; `kept`: left in the queue (see `reason`). */
  action: 'replayed' | 'kept' | 'would-replay';
  /** Why a message was kept, or what a dry run would do. */
  reason?: string;
  shardId?: string;
  /** The records read (range) or 1 (reject). */
  records: number;
  /** Counter items written (or that would be written) / found already holding the records. */
  itemsWritten: number;
  itemsAlreadyApplied: number;
  batch?: StreamFailureRecordBatchInfo;
  /** Kept because the stream no longer holds the records (past its retention): replaying them is impossible. */
  pastRetention?: boolean;
}

export interface ReplaySummary {
  messages: number;
  replayed: number;
  kept: number;
  recordsReplayed: number;
  /** Messages kept because their records are past the stream's retention (reported, never skipped). */
  pastRetention: number;
  outcomes: MessageOutcome[];
}
