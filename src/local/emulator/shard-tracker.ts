/**
 * Finds the shards of a stream and runs one poller per shard, parents first: a child shard starts only
 * after its parent (both parents, for a merge) is fully processed, as Lambda does after a reshard.
 */
import { SHARD_DISCOVERY_INTERVAL_MS } from './constants.js';
import type { ResolvedEsmSettings } from './esm-settings.js';
import type { ShardPoller } from './shard-poller.js';
import type { Sleeper } from './sleeper.js';
import type { EmulatorLogger, EmulatorStats, IteratorPosition, ShardDescription, StreamReader } from './types.js';

export interface ShardTrackerDeps {
  readonly reader: StreamReader;
  readonly settings: ResolvedEsmSettings;
  readonly stats: EmulatorStats;
  readonly log: EmulatorLogger;
  readonly sleeper: Sleeper;
  readonly createPoller: (
    shardId: string,
    startPosition: IteratorPosition,
    checkpoint: string | undefined,
  ) => ShardPoller;
}

type ShardStatus = 'waiting' | 'running' | 'done';

interface TrackedShard {
  description: ShardDescription;
  status: ShardStatus;
  startPosition: IteratorPosition;
  run: Promise<void> | undefined;
}

export class ShardTracker {
  readonly #d: ShardTrackerDeps;
  /** Survive stop/start: a restarted emulator resumes after its checkpoints, like a disabled-then-enabled ESM. */
  readonly #shards = new Map<string, TrackedShard>();
  readonly #checkpoints = new Map<string, string>();
  readonly #iteratorAges = new Map<string, number>();
  #listedOnce = false;

  constructor(deps: ShardTrackerDeps) {
    this.#d = deps;
  }

  /** The last processed (or discarded) sequence number per shard. */
  get checkpoints(): ReadonlyMap<string, string> {
    return this.#checkpoints;
  }

  endingSequenceNumber(shardId: string): string | undefined {
    return this.#shards.get(shardId)?.description.endingSequenceNumber;
  }

  recordCheckpoint(shardId: string, sequenceNumber: string): void {
    this.#checkpoints.set(shardId, sequenceNumber);
  }

  recordIteratorAge(shardId: string, millisBehindLatest: number): void {
    this.#iteratorAges.set(shardId, millisBehindLatest);
    let max = 0;
    for (const age of this.#iteratorAges.values()) if (age > max) max = age;
    this.#d.stats.iteratorAgeMs = max;
  }

  /**
   * List the shards once and start the eligible pollers; resolves when they hold their iterators
   * (so records put after `start()` are seen with LATEST). `run()` then keeps discovering.
   */
  async start(): Promise<void> {
    // No retry here: a stream that cannot be listed at start is a setup error the caller should see.
    this.#merge(await this.#d.reader.listShards());
    await Promise.all(this.#startEligible());
  }

  /** Refresh the shard list until stopped, then wait for every poller to finish its in-flight work. */
  async run(): Promise<void> {
    const sleeper = this.#d.sleeper;
    while (!sleeper.stopped) {
      await sleeper.sleep(SHARD_DISCOVERY_INTERVAL_MS);
      if (sleeper.stopped) break;
      try {
        this.#merge(await this.#d.reader.listShards());
      } catch (err) {
        this.#d.log('warn', 'Listing shards failed; retrying', { error: err });
        continue;
      }
      this.#startEligible();
    }
    for (;;) {
      const running = [...this.#shards.values()].map((s) => s.run).filter((p): p is Promise<void> => p !== undefined);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  #initialPosition(shard: ShardDescription, firstListing: boolean): { position: IteratorPosition; done: boolean } {
    const s = this.#d.settings;
    // Shards that appear later (children of a reshard) are read from their beginning.
    if (!firstListing) return { position: { type: 'TRIM_HORIZON' }, done: false };
    if (s.startingPosition === 'AT_TIMESTAMP')
      return { position: { type: 'AT_TIMESTAMP', timestampMs: s.startingPositionTimestampMs ?? 0 }, done: false };
    if (s.startingPosition === 'TRIM_HORIZON') return { position: { type: 'TRIM_HORIZON' }, done: false };
    // LATEST: closed shards hold only old records; only open shards are read, from their tip.
    return { position: { type: 'LATEST' }, done: shard.endingSequenceNumber !== undefined };
  }

  #merge(listing: ShardDescription[]): void {
    const firstListing = !this.#listedOnce;
    this.#listedOnce = true;
    for (const description of listing) {
      const known = this.#shards.get(description.shardId);
      if (known) {
        known.description = description;
        continue;
      }
      const { position, done } = this.#initialPosition(description, firstListing);
      this.#shards.set(description.shardId, {
        description,
        status: done ? 'done' : 'waiting',
        startPosition: position,
        run: undefined,
      });
      if (done) this.#d.stats.finishedShards++;
    }
  }

  #parentsDone(shard: TrackedShard): boolean {
    for (const parentId of shard.description.parentShardIds) {
      const parent = this.#shards.get(parentId);
      // A parent missing from the listing has aged out of retention: nothing is left to read.
      if (parent && parent.status !== 'done') return false;
    }
    return true;
  }

  /** Start every waiting shard whose parents are done; returns the pollers' `ready` promises. */
  #startEligible(): Promise<void>[] {
    const ready: Promise<void>[] = [];
    if (this.#d.sleeper.stopped) return ready;
    for (const shard of this.#shards.values()) {
      if (shard.status !== 'waiting' || !this.#parentsDone(shard)) continue;
      const shardId = shard.description.shardId;
      const poller = this.#d.createPoller(shardId, shard.startPosition, this.#checkpoints.get(shardId));
      shard.status = 'running';
      this.#d.stats.activeShards++;
      this.#d.log('debug', `Polling ${shardId}`);
      shard.run = poller.run().then(
        (finished) => this.#onPollerExit(shard, finished),
        (err: unknown) => {
          this.#d.log('error', `The poller of ${shardId} failed; it restarts at the next shard refresh`, {
            error: err,
          });
          this.#onPollerExit(shard, false);
        },
      );
      ready.push(poller.ready);
    }
    return ready;
  }

  #onPollerExit(shard: TrackedShard, finished: boolean): void {
    shard.run = undefined;
    this.#d.stats.activeShards--;
    this.#iteratorAges.delete(shard.description.shardId);
    if (!finished) {
      shard.status = 'waiting';
      return;
    }
    shard.status = 'done';
    this.#d.stats.finishedShards++;
    this.#d.log('info', `${shard.description.shardId} is fully processed`);
    this.#startEligible();
  }
}
