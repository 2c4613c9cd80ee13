/**
 * `npm run produce -- --orders`: writes live order changes (new orders, status moves, `SET note` updates,
 * deletes) into a DynamoDB table, so its stream drives the DynamoDB path. Called by produce.ts with the
 * parsed arguments; prints a progress line and a summary with the status counts the table should now hold.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { clientConfig } from '../local/aws/aws-clients.js';
import { ItemChangeWriter } from '../producer/item-change-writer.js';
import { OrderChangeGenerator } from '../samples/order-changes.js';
import { formatCount, formatDuration, ProgressLine, RateMeter, renderBar } from './progress.js';

export interface ProduceOrdersArgs {
  tableName: string;
  endpoint: string | undefined;
  region: string | undefined;
  ratePerSec: number | undefined;
  durationMs: number | undefined;
  count: number | undefined;
  seed: number;
}

/** Returns the exit code: 0 done, 1 the table is missing or a write failed. */
export async function produceOrders(args: ProduceOrdersArgs): Promise<number> {
  const client = new DynamoDBClient(clientConfig({ endpoint: args.endpoint, region: args.region }));
  const where = args.endpoint ?? 'AWS DynamoDB';
  const progress = new ProgressLine({ output: process.stderr });
  const meter = new RateMeter();
  meter.record(0, 0);
  const abort = new AbortController();
  const onSigint = (): void => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  const timer = args.durationMs === undefined ? undefined : setTimeout(() => abort.abort(), args.durationMs);
  // Seeded, but stamped with the real time: createdAt is when the order was written.
  const orders = new OrderChangeGenerator({ seed: args.seed });
  const writer = new ItemChangeWriter({
    client,
    tableName: args.tableName,
    onProgress: (p) => {
      const done = p.inserts + p.modifies + p.removes;
      const rate = meter.record(done, p.elapsedMs);
      const bar = args.count !== undefined ? `${renderBar(done / args.count)} ` : '';
      progress.update(
        `${bar}changes ${formatCount(done)} (${formatCount(rate)}/s)  new ${formatCount(p.inserts)}  updated ${formatCount(p.modifies)}  deleted ${formatCount(p.removes)}  live ${formatCount(orders.liveOrders)}  ${formatDuration(p.elapsedMs)}`,
      );
    },
  });
  if (args.count === undefined && args.durationMs === undefined)
    process.stderr.write(
      `writing order changes to ${args.tableName} at ${args.ratePerSec ?? 'max'}/s; Ctrl-C to stop\n`,
    );
  try {
    const source = (function* () {
      for (;;) yield orders.next(Date.now());
    })();
    const p = await writer.writeAll(source, {
      ratePerSec: args.ratePerSec,
      maxChanges: args.count,
      signal: abort.signal,
    });
    progress.clear();
    const counts = orders.statusCounts();
    process.stdout.write(
      [
        `table ${args.tableName} at ${where}`,
        `  changes     ${formatCount(p.inserts + p.modifies + p.removes)} in ${formatDuration(p.elapsedMs)}: ${formatCount(p.inserts)} new, ${formatCount(p.modifies)} updated, ${formatCount(p.removes)} deleted`,
        `  live orders ${formatCount(orders.liveOrders)} written by this run, per status: ${
          Object.entries(counts)
            .sort()
            .map(([s, n]) => `${s} ${n}`)
            .join(', ') || 'none'
        }`,
      ].join('\n') + '\n',
    );
    return 0;
  } catch (err) {
    progress.clear();
    const name = (err as Error).name;
    const hint =
      name === 'ResourceNotFoundException'
        ? `: table ${args.tableName} not found at ${where}; create it (npm start does) or pass --table`
        : (err as NodeJS.ErrnoException).code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String((err as Error).message))
          ? `: nothing answers at ${where}; start the local servers (npm start) or fix --endpoint`
          : '';
    process.stderr.write(`error: ${(err as Error).message}${hint}\n`);
    return 1;
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', onSigint);
    client.destroy();
  }
}
