import { describe, expect, it } from 'vitest';
import { ClickstreamGenerator, clickstreamEvents, mulberry32, type ClickEvent } from '../../../src/local/demo-events.js';

const FIXED_NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

function sample(count: number, seed: number): ClickEvent[] {
  const generator = new ClickstreamGenerator({ seed, now: () => FIXED_NOW });
  const events: ClickEvent[] = [];
  for (let i = 0; i < count; i++) events.push(generator.next());
  return events;
}

describe('mulberry32', () => {
  it('is deterministic per seed and stays in [0, 1)', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const c = mulberry32(8);
    const drawsA = Array.from({ length: 1_000 }, a);
    expect(drawsA).toEqual(Array.from({ length: 1_000 }, b));
    expect(drawsA).not.toEqual(Array.from({ length: 1_000 }, c));
    for (const x of drawsA) expect(x >= 0 && x < 1).toBe(true);
  });

  it('is roughly uniform: each tenth of [0, 1) gets 10 % +- 1 % of 100,000 draws', () => {
    const random = mulberry32(123);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[Math.floor(random() * 10)]++;
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(1_000);
  });
});

describe('ClickstreamGenerator', () => {
  it('gives the same events for the same seed and clock, different ones for another seed', () => {
    expect(sample(200, 1)).toEqual(sample(200, 1));
    expect(sample(200, 1)).not.toEqual(sample(200, 2));
  });

  it('produces the documented shape', () => {
    for (const event of sample(2_000, 5)) {
      expect(Object.keys(event)).toEqual(event.type === 'purchase'
        ? ['type', 'ts', 'user', 'page', 'country', 'latencyMs', 'amount', 'meta']
        : ['type', 'ts', 'user', 'page', 'country', 'latencyMs', 'meta']);
      expect(['page_view', 'click', 'purchase']).toContain(event.type);
      expect(event.ts).toBe(new Date(FIXED_NOW).toISOString());
      expect(event.user.id).toMatch(/^u-\d+$/);
      expect(['free', 'pro']).toContain(event.user.plan);
      expect(event.page.startsWith('/')).toBe(true);
      expect(event.country).toMatch(/^[A-Z]{2}$/);
      expect(Number.isInteger(event.latencyMs) && event.latencyMs >= 1).toBe(true);
      expect(typeof event.meta.ua).toBe('string');
      expect(event.meta.ref === null || event.meta.ref.startsWith('https://')).toBe(true);
      if (event.type === 'purchase') {
        expect(event.amount).toBeGreaterThanOrEqual(5);
        expect(event.amount).toBeLessThanOrEqual(500);
        expect(Math.round(event.amount! * 100) / 100).toBe(event.amount);
      }
    }
  });

  it('keeps a user on one plan', () => {
    const plans = new Map<string, string>();
    for (const event of sample(5_000, 6)) {
      expect(plans.get(event.user.id) ?? event.user.plan).toBe(event.user.plan);
      plans.set(event.user.id, event.user.plan);
    }
  });

  it('has a funnel mix, skewed users, ~200-byte JSON, some non-ASCII text and escaped quotes', () => {
    // Prepare
    const events = sample(10_000, 42);
    const counts = { page_view: 0, click: 0, purchase: 0 };
    const users = new Map<string, number>();
    let bytes = 0;
    let nonAscii = 0;
    let escapedQuotes = 0;
    let nullRef = 0;
    const latencies: number[] = [];

    // Act
    for (const event of events) {
      const json = JSON.stringify(event);
      counts[event.type]++;
      users.set(event.user.id, (users.get(event.user.id) ?? 0) + 1);
      bytes += Buffer.byteLength(json);
      if (/[\u0080-\uffff]/.test(json)) nonAscii++;
      if (json.includes('\\"')) escapedQuotes++;
      if (event.meta.ref === null) nullRef++;
      latencies.push(event.latencyMs);
      expect(JSON.parse(json)).toEqual(event);
    }

    // Assess
    expect(counts.page_view / events.length).toBeCloseTo(0.7, 1);
    expect(counts.click / events.length).toBeCloseTo(0.25, 1);
    expect(counts.purchase / events.length).toBeGreaterThan(0.03);
    expect(counts.purchase / events.length).toBeLessThan(0.07);
    const averageBytes = bytes / events.length;
    expect(averageBytes).toBeGreaterThan(170);
    expect(averageBytes).toBeLessThan(250);
    // occasional, not rare and not everywhere
    expect(nonAscii / events.length).toBeGreaterThan(0.02);
    expect(nonAscii / events.length).toBeLessThan(0.25);
    expect(escapedQuotes / events.length).toBeGreaterThan(0.02);
    expect(escapedQuotes / events.length).toBeLessThan(0.25);
    expect(nullRef / events.length).toBeGreaterThan(0.4);
    // the 10 most active users are far above the average user
    const perUser = [...users.values()].sort((a, b) => b - a);
    expect(perUser[9]).toBeGreaterThan(3 * (events.length / users.size));
    // long-tailed latency: p99 far above the median
    latencies.sort((a, b) => a - b);
    const median = latencies[latencies.length / 2];
    expect(median).toBeGreaterThan(40);
    expect(median).toBeLessThan(160);
    expect(latencies[Math.floor(latencies.length * 0.99)]).toBeGreaterThan(4 * median);
  });

  it('uses the wall clock by default and respects the users option', () => {
    const before = Date.now();
    const event = new ClickstreamGenerator({ seed: 1, users: 3 }).next();
    expect(Date.parse(event.ts)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(event.ts)).toBeLessThanOrEqual(Date.now());
    for (const e of sample(50, 1)) expect(Number(e.user.id.slice(2))).toBeLessThanOrEqual(5_000);
    const few = new ClickstreamGenerator({ seed: 1, users: 3, now: () => FIXED_NOW });
    for (let i = 0; i < 100; i++) expect(['u-1', 'u-2', 'u-3']).toContain(few.next().user.id);
  });
});

describe('clickstreamEvents', () => {
  it('yields the generator sequence', () => {
    const fromGenerator = sample(5, 9);
    const fromIterable: ClickEvent[] = [];
    for (const event of clickstreamEvents({ seed: 9, now: () => FIXED_NOW })) {
      fromIterable.push(event);
      if (fromIterable.length === 5) break;
    }
    expect(fromIterable).toEqual(fromGenerator);
  });
});
