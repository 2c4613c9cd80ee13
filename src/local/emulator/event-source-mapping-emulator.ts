/**
 * Lambda's event source mapping for Kinesis and DynamoDB Streams, emulated against real AWS-API servers
 * (kinesis-local, moto_server) or AWS itself: one poller per shard, Lambda's batching, failure handling,
 * on-failure destination and tumbling windows, invoking a handler function in process.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
  FAKE_ACCOUNT_ID,
  MAX_INVOKE_PAYLOAD_BYTES,
} from './constants.js';
import { DynamoDbStreamReader } from './dynamodb-stream-reader.js';
import { EsmSettingsError } from './errors.js';
import { resolveEsmSettings, type EventSourceMappingSettings, type ResolvedEsmSettings } from './esm-settings.js';
import { SqsOnFailureDestination, type OnFailureDestination } from './on-failure-destination.js';
import { KinesisStreamReader } from './kinesis-stream-reader.js';
import { resolveFunctionSettings, type FunctionSettings, type ResolvedFunctionSettings } from './lambda-context.js';
import { ShardPoller } from './shard-poller.js';
import { ShardTracker } from './shard-tracker.js';
import { Sleeper } from './sleeper.js';
import {
  createStats,
  SYSTEM_CLOCK,
  type Clock,
  type EmulatorLogger,
  type EmulatorStats,
  type IteratorPosition,
  type SourceKind,
  type StreamHandler,
  type StreamReader,
} from './types.js';

export interface EventSourceMappingEmulatorOptions {
  /** `stream`: Kinesis stream name or ARN; DynamoDB stream ARN or table name. */
  readonly source: { readonly kind: SourceKind; readonly stream: string };
  readonly settings: EventSourceMappingSettings;
  readonly handler: StreamHandler;
  readonly function: FunctionSettings;
  readonly clients: {
    readonly kinesis?: KinesisClient;
    readonly dynamodbStreams?: DynamoDBStreamsClient;
    readonly dynamodb?: DynamoDBClient;
    readonly sqs?: SQSClient;
  };
  /** Replaces the SQS destination built from DestinationConfig (e.g. to collect records in memory). */
  readonly failureDestination?: OnFailureDestination;
  /** The execution role in Kinesis records' `invokeIdentityArn`. */
  readonly invokeIdentityArn?: string;
  readonly clock?: Clock;
  readonly logger?: EmulatorLogger;
  readonly retryBaseDelayMs?: number;
  readonly retryMaxDelayMs?: number;
  /**
   * Lambda's 6 MB invocation payload limit (the default). Lower it only to test batching by size with
   * small records: kinesis-local needs ~20 s to take 6 MB of records.
   */
  readonly payloadLimitBytes?: number;
  /** See ResolveOptions.allowShortRecordAge. */
  readonly allowShortRecordAge?: boolean;
}

const defaultLogger: EmulatorLogger = (level, message, fields) => {
  if (level === 'warn' || level === 'error') console.error(`[esm ${level}] ${message}`, fields?.error ?? '');
};

/**
 * @example
 * const esm = new EventSourceMappingEmulator({
 *   source: { kind: 'kinesis', stream: 'clicks' },
 *   settings: { StartingPosition: 'TRIM_HORIZON', BatchSize: 100, FunctionResponseTypes: ['ReportBatchItemFailures'] },
 *   handler,
 *   function: { name: 'counter', timeoutSeconds: 30 },
 *   clients: createAwsClients({ endpoint }),
 * });
 * await esm.start();
 * process.once('SIGINT', () => void esm.stop());
 */
export class EventSourceMappingEmulator {
  readonly settings: ResolvedEsmSettings;
  readonly function: ResolvedFunctionSettings;
  /** Live counters; read them for a status line. */
  readonly stats: Readonly<EmulatorStats>;
  readonly #stats: EmulatorStats;
  readonly #options: EventSourceMappingEmulatorOptions;
  readonly #reader: StreamReader;
  readonly #destination: OnFailureDestination | undefined;
  readonly #sleeper: Sleeper;
  readonly #clock: Clock;
  readonly #log: EmulatorLogger;
  readonly #tracker: ShardTracker;
  #streamArn: string;
  #running: Promise<void> | undefined;

  constructor(options: EventSourceMappingEmulatorOptions) {
    this.#options = options;
    this.settings = resolveEsmSettings(options.settings, options.source.kind, {
      allowShortRecordAge: options.allowShortRecordAge,
    });
    this.function = resolveFunctionSettings(options.function);
    this.#stats = createStats();
    this.stats = this.#stats;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#log = options.logger ?? defaultLogger;
    this.#sleeper = new Sleeper();
    this.#reader = this.#createReader();
    this.#destination = this.#createDestination();
    this.#streamArn = '';
    this.#running = undefined;
    this.#tracker = new ShardTracker({
      reader: this.#reader,
      settings: this.settings,
      stats: this.#stats,
      log: this.#log,
      sleeper: this.#sleeper,
      createPoller: (shardId, startPosition, checkpoint) => this.#createPoller(shardId, startPosition, checkpoint),
    });
  }

  get streamArn(): string {
    return this.#streamArn;
  }

  /** Last processed sequence number per shard. */
  get checkpoints(): ReadonlyMap<string, string> {
    return this.#tracker.checkpoints;
  }

  /** Resolve the stream, list its shards and start polling; resolves once the first pollers hold iterators. */
  async start(): Promise<void> {
    if (this.#running) return;
    if (!this.settings.enabled) {
      this.#log('info', 'Event source mapping is disabled (Enabled: false); not polling');
      return;
    }
    this.#sleeper.reset();
    this.#streamArn = await this.#reader.open();
    await this.#tracker.start();
    this.#running = this.#tracker.run();
  }

  /** Stop polling: waits for in-flight invocations, cancels every timer. Safe to call twice. */
  async stop(): Promise<void> {
    this.#sleeper.stop();
    const running = this.#running;
    this.#running = undefined;
    await running;
  }

  #createReader(): StreamReader {
    const { source, clients } = this.#options;
    if (source.kind === 'kinesis') {
      if (!clients.kinesis) throw new EsmSettingsError('A Kinesis source needs clients.kinesis.');
      return new KinesisStreamReader(clients.kinesis, {
        stream: source.stream,
        region: this.function.region,
        invokeIdentityArn:
          this.#options.invokeIdentityArn ?? `arn:aws:iam::${FAKE_ACCOUNT_ID}:role/${this.function.name}-role`,
      });
    }
    if (!clients.dynamodbStreams)
      throw new EsmSettingsError('A DynamoDB Streams source needs clients.dynamodbStreams.');
    return new DynamoDbStreamReader(clients.dynamodbStreams, {
      stream: source.stream,
      region: this.function.region,
      dynamodb: clients.dynamodb,
    });
  }

  #createDestination(): OnFailureDestination | undefined {
    if (this.#options.failureDestination) return this.#options.failureDestination;
    const destination = this.settings.onFailureDestination;
    if (!destination) return undefined;
    if (!this.#options.clients.sqs)
      throw new EsmSettingsError('DestinationConfig.OnFailure is set: pass clients.sqs to send failure records.');
    return new SqsOnFailureDestination(this.#options.clients.sqs, destination);
  }

  #createPoller(shardId: string, startPosition: IteratorPosition, checkpoint: string | undefined): ShardPoller {
    const tracker = this.#tracker;
    return new ShardPoller(
      {
        reader: this.#reader,
        shardId,
        streamArn: this.#streamArn,
        startPosition,
        settings: this.settings,
        fn: this.function,
        handler: this.#options.handler,
        destination: this.#destination,
        stats: this.#stats,
        clock: this.#clock,
        log: this.#log,
        sleeper: this.#sleeper,
        retryBaseDelayMs: this.#options.retryBaseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
        retryMaxDelayMs: this.#options.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS,
        payloadLimitBytes: this.#options.payloadLimitBytes ?? MAX_INVOKE_PAYLOAD_BYTES,
        endingSequenceNumber: () => tracker.endingSequenceNumber(shardId),
        onCheckpoint: (id, seq) => tracker.recordCheckpoint(id, seq),
        onIteratorAge: (id, ms) => tracker.recordIteratorAge(id, ms),
      },
      checkpoint,
    );
  }
}
