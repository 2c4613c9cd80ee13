import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/samples/prng.js';
import {
  ClickstreamGenerator,
  clickstreamEvents,
  createRng,
  generateClickEvent,
  type ClickEvent,
} from '../../../src/samples/sample-events.js';

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

describe('generateClickEvent', () => {
  it('produces the documented shape', () => {
    const rng = createRng(5);
    for (let i = 0; i < 2_000; i++) {
      const event = generateClickEvent(rng, FIXED_NOW);
      expect(Object.keys(event)).toEqual(
        event.type === 'purchase'
          ? ['type', 'ts', 'user', 'page', 'country', 'latencyMs', 'referrer', 'device', 'title', 'amount']
          : ['type', 'ts', 'user', 'page', 'country', 'latencyMs', 'referrer', 'device', 'title'],
      );
      expect(['page_view', 'click', 'add_to_cart', 'purchase']).toContain(event.type);
      expect(event.ts).toBe(new Date(FIXED_NOW).toISOString());
      expect(event.user.id).toMatch(/^u-\d+$/);
      expect(['free', 'pro', 'enterprise']).toContain(event.user.plan);
      expect(event.page.startsWith('/')).toBe(true);
      expect(event.country).toMatch(/^[A-Z]{2}$/);
      expect(Number.isInteger(event.latencyMs) && event.latencyMs >= 1).toBe(true);
      expect(event.referrer === null || event.referrer.startsWith('https://')).toBe(true);
      expect(['desktop', 'mobile', 'tablet']).toContain(event.device.kind);
      expect(event.device.browser).toMatch(/^[A-Za-z]+ [\d.]+$/);
      if (event.type === 'purchase') {
        expect(event.amount).toBeGreaterThanOrEqual(5);
        expect(event.amount).toBeLessThanOrEqual(255);
        expect(Math.round(event.amount! * 100) / 100).toBe(event.amount);
      }
    }
  });

  it('has a funnel mix, ~250-byte JSON, non-ASCII titles, escapes, null referrers and long-tailed latency', () => {
    // Prepare
    const rng = createRng(42);
    const counts = { page_view: 0, click: 0, add_to_cart: 0, purchase: 0 };
    let bytes = 0;
    let nonAscii = 0;
    let escaped = 0;
    let nullReferrer = 0;
    const latencies: number[] = [];
    const N = 10_000;

    // Act
    for (let i = 0; i < N; i++) {
      const event = generateClickEvent(rng, FIXED_NOW + i);
      const json = JSON.stringify(event);
      counts[event.type]++;
      bytes += Buffer.byteLength(json);
      if (/[\u0080-\uffff]/.test(json)) nonAscii++;
      if (/\\["t]/.test(json)) escaped++;
      if (event.referrer === null) nullReferrer++;
      latencies.push(event.latencyMs);
      expect(JSON.parse(json)).toEqual(event);
    }

    // Assess
    expect(counts.page_view / N).toBeCloseTo(0.65, 1);
    expect(counts.click / N).toBeCloseTo(0.23, 1);
    expect(counts.add_to_cart / N).toBeCloseTo(0.08, 1);
    expect(counts.purchase / N).toBeGreaterThan(0.02);
    expect(counts.purchase / N).toBeLessThan(0.06);
    expect(bytes / N).toBeGreaterThan(200);
    expect(bytes / N).toBeLessThan(300);
    expect(nonAscii / N).toBeGreaterThan(0.45);
    expect(nonAscii / N).toBeLessThan(0.65);
    expect(escaped / N).toBeGreaterThan(0.15);
    expect(escaped / N).toBeLessThan(0.3);
    expect(nullReferrer / N).toBeGreaterThan(0.3);
    expect(nullReferrer / N).toBeLessThan(0.5);
    // long-tailed latency: p99 far above the median
    latencies.sort((a, b) => a - b);
    const median = latencies[N / 2];
    expect(median).toBeGreaterThan(40);
    expect(median).toBeLessThan(160);
    expect(latencies[Math.floor(N * 0.99)]).toBeGreaterThan(4 * median);
  });
});

describe('ClickstreamGenerator', () => {
  it('gives the same events for the same seed and clock, different ones for another seed', () => {
    expect(sample(200, 1)).toEqual(sample(200, 1));
    expect(sample(200, 1)).not.toEqual(sample(200, 2));
  });

  it('is generateClickEvent at the clock time, from the seeded PRNG', () => {
    const rng = createRng(11);
    let clock = FIXED_NOW;
    const generator = new ClickstreamGenerator({ seed: 11, now: () => (clock += 250) });
    for (let i = 1; i <= 50; i++) expect(generator.next()).toEqual(generateClickEvent(rng, FIXED_NOW + 250 * i));
  });

  it('uses the wall clock by default', () => {
    const before = Date.now();
    const event = new ClickstreamGenerator({ seed: 1 }).next();
    expect(Date.parse(event.ts)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(event.ts)).toBeLessThanOrEqual(Date.now());
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
