/**
 * Realistic demo clickstream events from a seeded PRNG: the same seed (and clock) gives the same
 * events, so demos, tests and benchmarks can be reproduced. About 200 bytes of JSON each, with the
 * awkward parts of real data mixed in: non-ASCII text ("Zürich"), escaped quotes, null fields,
 * a skewed user population and long-tailed latencies.
 */
import { mulberry32 } from './prng.js';

export { mulberry32 };

export type ClickEventType = 'page_view' | 'click' | 'purchase';

export interface ClickEvent {
  type: ClickEventType;
  /** ISO-8601 in UTC, millisecond precision. */
  ts: string;
  user: { id: string; plan: 'free' | 'pro' };
  page: string;
  country: string;
  latencyMs: number;
  /** Purchases only, in the shop's currency, two decimals. */
  amount?: number;
  meta: { ua: string; ref: string | null };
}

export interface DemoEventOptions {
  seed?: number;
  /** Distinct users; ids are `u-1`..`u-<users>`, a few of them far more active than the rest. */
  users?: number;
  /** Event time source; defaults to the wall clock so dashboards show "now". */
  now?: () => number;
}

const DEFAULT_SEED = 42;
const DEFAULT_USERS = 5_000;
/** page_view 70 %, click 25 %, purchase 5 %: a common funnel shape. */
const CLICK_THRESHOLD = 0.7;
const PURCHASE_THRESHOLD = 0.95;
/** One user in five is on the paid plan (a stable function of the id). */
const PRO_EVERY = 5;

const PAGES: readonly string[] = [
  '/', '/', '/', '/', '/products', '/products', '/products/boots-42', '/products/jacket-7', '/products/scarf-19',
  '/products/hat-3', '/cart', '/cart', '/checkout', '/search?q=winter+boots', '/search?q=wool', '/account', '/help/returns',
  '/blog/size-guide', '/stores', '/stores/Berlin', '/stores/London', '/stores/Zürich', '/blog/größen-guide',
  '/stores/São-Paulo',
];
const PURCHASE_PAGES: readonly string[] = ['/checkout/complete', '/checkout/complete', '/checkout/express'];
/** Weighted by repetition: more traffic from a few countries, a long tail of others. */
const COUNTRIES: readonly string[] = ['US', 'US', 'US', 'US', 'DE', 'DE', 'DE', 'GB', 'GB', 'FR', 'CH', 'BR', 'JP', 'IN', 'CA', 'ES', 'NL', 'SE'];
const USER_AGENTS: readonly string[] = [
  'Mozilla/5.0 (Windows NT 10.0) Firefox/128.0', 'Mozilla/5.0 (Windows NT 10.0) Firefox/128.0',
  'Mozilla/5.0 (Macintosh) Safari/605.1', 'Mozilla/5.0 (Macintosh) Safari/605.1',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Mobile', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Mobile',
  'Mozilla/5.0 (Linux; Android 14) Chrome/126.0', 'Mozilla/5.0 (Linux; Android 14) Chrome/126.0',
  'curl/8.5.0', 'ShopBot/2.1 (compatible; "crawler")',
];
const REFERRERS: readonly (string | null)[] = [null, null, null, null, null, 'https://www.google.com/', 'https://duckduckgo.com/', 'https://t.co/xyz'];


/**
 * @example
 * const events = new ClickstreamGenerator({ seed: 7 });
 * const line = JSON.stringify(events.next()); // {"type":"page_view","ts":"2026-...","user":{"id":"u-311",...
 */
export class ClickstreamGenerator {
  private readonly random: () => number;
  private readonly users: number;
  private readonly now: () => number;

  constructor(options: DemoEventOptions = {}) {
    this.random = mulberry32(options.seed ?? DEFAULT_SEED);
    this.users = Math.max(1, Math.floor(options.users ?? DEFAULT_USERS));
    this.now = options.now ?? Date.now;
  }

  next(): ClickEvent {
    const roll = this.random();
    const type: ClickEventType = roll < CLICK_THRESHOLD ? 'page_view' : roll < PURCHASE_THRESHOLD ? 'click' : 'purchase';
    // Squaring a uniform draw skews activity toward low ids: a few heavy users, a long tail.
    const userNumber = 1 + Math.floor(this.random() ** 2 * this.users);
    const page = type === 'purchase' ? this.pick(PURCHASE_PAGES) : this.pick(PAGES);
    const ts = new Date(this.now()).toISOString();
    const user = { id: `u-${userNumber}`, plan: userNumber % PRO_EVERY === 0 ? ('pro' as const) : ('free' as const) };
    const country = this.pick(COUNTRIES);
    const latencyMs = this.latencyMs();
    // Cubing a uniform draw gives many small baskets and a few large ones.
    const amount = type === 'purchase' ? Math.round((5 + this.random() ** 3 * 495) * 100) / 100 : undefined;
    const meta = { ua: this.pick(USER_AGENTS), ref: this.pick(REFERRERS) };
    return amount === undefined
      ? { type, ts, user, page, country, latencyMs, meta }
      : { type, ts, user, page, country, latencyMs, amount, meta };
  }

  /** Log-normal-ish: median about 80 ms, a long tail into the seconds, like real request latencies. */
  private latencyMs(): number {
    const u1 = this.random() || Number.MIN_VALUE;
    const u2 = this.random();
    const gaussian = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return Math.max(1, Math.round(Math.exp(4.4 + 0.8 * gaussian)));
  }

  private pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.random() * values.length)];
  }
}

/**
 * An endless sequence of demo events (stop with `break`, or a count or duration in the consumer).
 *
 * @example
 * for (const event of clickstreamEvents({ seed: 1 })) { if (++n > 10) break; console.log(event); }
 */
export function* clickstreamEvents(options: DemoEventOptions = {}): Generator<ClickEvent, never> {
  const generator = new ClickstreamGenerator(options);
  while (true) yield generator.next();
}
