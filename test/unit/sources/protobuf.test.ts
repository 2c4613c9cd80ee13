import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtobufFormatError } from '../../../src/sources/errors.js';
import { ProtobufReader, varintSize, writeVarint } from '../../../src/sources/protobuf.js';

describe('protobuf varints', () => {
  it('write -> read returns the value and the announced length (property)', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (value) => {
        const out = new Uint8Array(10);
        const end = writeVarint(out, 0, value);
        expect(end).toBe(varintSize(value));
        const reader = new ProtobufReader();
        reader.reset(out, 0, end);
        expect(reader.readVarint()).toBe(value);
        expect(reader.pos).toBe(end);
      }),
    );
  });

  it('matches the encoding guide example: 150 is 96 01', () => {
    const out = new Uint8Array(2);
    writeVarint(out, 0, 150);
    expect([...out]).toEqual([0x96, 0x01]);
  });

  it('throws ProtobufFormatError on a varint cut short and on a length past the end', () => {
    const reader = new ProtobufReader();
    reader.reset(Uint8Array.from([0x96]), 0, 1);
    expect(() => reader.readVarint()).toThrow(ProtobufFormatError);
    reader.reset(Uint8Array.from([0x05, 1, 2]), 0, 3);
    expect(() => reader.readLength()).toThrow(/overruns/);
  });
});
