/**
 * An endless, seeded stream of changes to an orders table, for the live demo (`npm start`), `npm run
 * produce -- --orders` and the state-count tests: new orders, status moves (PENDING -> PAID -> SHIPPED ->
 * DELIVERED, or CANCELLED), updates of an unrelated attribute (`note`, which must not move any status
 * count), and deletes of finished orders. Each change carries both images, as a NEW_AND_OLD_IMAGES stream
 * reports it, and the generator keeps the live orders, so `statusCounts()` is the reference level.
 */
import type { DynamoDbEventName } from '../core/types.js';
import { createRng, generateOrder, toAttributeMap, type ItemChange, type Order, type Rng } from './sample-events.js';

export const ORDER_STATUSES: ReadonlyArray<Order['status']> = ['PENDING', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED'];
const NEXT_STATUS: Readonly<Record<Order['status'], Order['status'] | undefined>> = {
  PENDING: 'PAID',
  PAID: 'SHIPPED',
  SHIPPED: 'DELIVERED',
  DELIVERED: undefined,
  CANCELLED: undefined,
};
const NOTES = ['gift wrap', 'leave at the door', 'call first', 'fragile', 'second address'];
/** Live orders the generator aims at: creates thin out above it, so levels stay readable on a dashboard. */
export const DEFAULT_TARGET_LIVE_ORDERS = 120;

/** What a change does, for progress lines and for the writer's choice of API call. */
export type OrderChangeKind = 'create' | 'status' | 'note' | 'delete';

export interface OrderChange extends ItemChange {
  kind: OrderChangeKind;
  orderId: string;
}

export interface OrderChangeOptions {
  seed?: number;
  /** Time of the first change (epoch ms); later ones follow `stepMs` apart. */
  startMs?: number;
  stepMs?: number;
  targetLiveOrders?: number;
}

/**
 * @example
 * const orders = new OrderChangeGenerator({ seed: 7 });
 * const change = orders.next(); // { kind: 'create', eventName: 'INSERT', newImage: {...}, ... }
 * orders.statusCounts(); // { PENDING: 1 }
 */
export class OrderChangeGenerator {
  private readonly rng: Rng;
  private readonly live = new Map<string, Order & { note?: string }>();
  private readonly ids: string[] = [];
  private readonly stepMs: number;
  private readonly target: number;
  private timeMs: number;

  constructor(options: OrderChangeOptions = {}) {
    this.rng = createRng(options.seed ?? 7);
    this.timeMs = options.startMs ?? Date.now();
    this.stepMs = options.stepMs ?? 100;
    this.target = options.targetLiveOrders ?? DEFAULT_TARGET_LIVE_ORDERS;
  }

  /** The next change; `nowMs` (default: the generator's own clock) stamps new orders' createdAt. */
  next(nowMs?: number): OrderChange {
    this.timeMs = nowMs ?? this.timeMs + this.stepMs;
    const rng = this.rng;
    const roll = rng();
    const createOdds = this.ids.length < this.target ? 0.4 : 0.1;
    if (this.ids.length === 0 || roll < createOdds) return this.create();
    const index = Math.floor(rng() * this.ids.length);
    const order = this.live.get(this.ids[index])!;
    // Only open orders (PENDING, PAID) can be cancelled; finished ones have no next status.
    const cancellable = order.status === 'PENDING' || order.status === 'PAID';
    const next = rng() < 0.08 && cancellable ? 'CANCELLED' : NEXT_STATUS[order.status];
    if (next === undefined && roll < 0.7) return this.remove(index, order);
    if (next === undefined || roll > 0.85) {
      // Always a different note: a write that changes nothing puts no record on the stream.
      const notes = NOTES.filter((n) => n !== order.note);
      return this.modify(order, { note: notes[Math.floor(rng() * notes.length)] });
    }
    return this.modify(order, { status: next });
  }

  /** Live orders per status: the level a `state` metric over `status` must show. */
  statusCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const order of this.live.values()) counts[order.status] = (counts[order.status] ?? 0) + 1;
    return counts;
  }

  /** Sum of `amount` over live orders per status. */
  statusAmounts(): Record<string, number> {
    const sums: Record<string, number> = {};
    for (const order of this.live.values()) sums[order.status] = (sums[order.status] ?? 0) + order.amount;
    return sums;
  }

  /** Live orders per combination of `fields` (values joined with `|`), e.g. `countsBy(['country', 'status'])`. */
  countsBy(fields: ReadonlyArray<keyof Order>): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const order of this.live.values()) {
      const key = fields.map((f) => String(order[f])).join('|');
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  get liveOrders(): number {
    return this.ids.length;
  }

  private change(kind: OrderChangeKind, eventName: DynamoDbEventName, id: string, images: Partial<ItemChange>) {
    return { kind, orderId: id, eventName, keys: { orderId: { S: id } }, createdMs: this.timeMs, ...images };
  }

  private create(): OrderChange {
    const order = generateOrder(this.rng, this.timeMs);
    this.live.set(order.orderId, order);
    this.ids.push(order.orderId);
    return this.change('create', 'INSERT', order.orderId, { newImage: toAttributeMap({ ...order }) });
  }

  private modify(order: Order & { note?: string }, patch: Partial<Order> & { note?: string }): OrderChange {
    const updated = { ...order, ...patch };
    this.live.set(order.orderId, updated);
    return this.change(patch.status ? 'status' : 'note', 'MODIFY', order.orderId, {
      oldImage: toAttributeMap({ ...order }),
      newImage: toAttributeMap({ ...updated }),
    });
  }

  private remove(index: number, order: Order): OrderChange {
    this.live.delete(order.orderId);
    this.ids[index] = this.ids[this.ids.length - 1];
    this.ids.pop();
    return this.change('delete', 'REMOVE', order.orderId, { oldImage: toAttributeMap({ ...order }) });
  }
}
