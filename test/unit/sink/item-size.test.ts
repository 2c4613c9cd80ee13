/** DynamoDB's item-size rules, checked on values whose sizes the Developer Guide spells out. */
import { describe, expect, it } from 'vitest';
import { itemSizeBytes, numberSize, readUnits, writeUnits } from '../../../src/sink/item-size.js';

describe('itemSizeBytes', () => {
  it('counts attribute names and string values as UTF-8 bytes', () => {
    expect(itemSizeBytes({ pk: { S: 'abc' } })).toBe(2 + 3);
    expect(itemSizeBytes({ t: { S: 'Café' } })).toBe(1 + 5); // é is two bytes
  });

  it('sizes numbers by significant digits: 1 byte per two, plus 1', () => {
    expect(numberSize('0')).toBe(2);
    expect(numberSize('12345')).toBe(4);
    expect(numberSize('1000000')).toBe(2); // trailing zeros trimmed
    expect(numberSize('-0.00125')).toBe(3); // leading zeros and the sign trimmed: 125
  });

  it('counts binary values by length, maps with 3 bytes plus 1 per element', () => {
    expect(itemSizeBytes({ h: { B: new Uint8Array(100) } })).toBe(101);
    expect(itemSizeBytes({ d: { M: { country: { S: 'DE' } } } })).toBe(1 + 3 + 7 + 2 + 1);
  });

  it('charges one write unit per started KB and one strong read per started 4 KB, at least one', () => {
    expect(writeUnits(0)).toBe(1);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
    expect(readUnits(4096)).toBe(1);
    expect(readUnits(4097)).toBe(2);
  });
});
