/**
 * Whether named attributes differ between a DynamoDB change's old and new image (the `changed` filter).
 * Cold-ish path: only metrics with a `changed` clause call it, once per change record.
 */
import type { AttributeMap, AttributeValue } from './types.js';

function at(image: AttributeMap | undefined, keys: ReadonlyArray<string>): AttributeValue | undefined {
  let av: AttributeValue | undefined = image?.[keys[0]];
  for (let k = 1; k < keys.length && av !== undefined; k++) av = 'M' in av && av.M ? av.M[keys[k]] : undefined;
  return av;
}

function bytesEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  if (typeof a === 'string' || typeof b === 'string') return typeof a === typeof b && a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Equality of DynamoDB typed values: N by number, sets regardless of order, maps regardless of key order. */
export function attributeValuesEqual(a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if ('S' in a) return 'S' in b && a.S === b.S;
  if ('N' in a) return 'N' in b && Number(a.N) === Number(b.N);
  if ('BOOL' in a) return 'BOOL' in b && a.BOOL === b.BOOL;
  if ('NULL' in a) return 'NULL' in b;
  if ('B' in a) return 'B' in b && bytesEqual(a.B, b.B);
  if ('M' in a) {
    if (!('M' in b)) return false;
    const ka = Object.keys(a.M);
    if (ka.length !== Object.keys(b.M).length) return false;
    for (const k of ka) if (!attributeValuesEqual(a.M[k], b.M[k])) return false;
    return true;
  }
  if ('L' in a) {
    if (!('L' in b) || a.L.length !== b.L.length) return false;
    for (let i = 0; i < a.L.length; i++) if (!attributeValuesEqual(a.L[i], b.L[i])) return false;
    return true;
  }
  if ('SS' in a) return 'SS' in b && sameSet(a.SS, b.SS);
  if ('NS' in a) return 'NS' in b && sameSet(a.NS.map(Number).map(String), b.NS.map(Number).map(String));
  if ('BS' in a)
    return 'BS' in b && a.BS.length === b.BS.length && a.BS.every((x) => b.BS.some((y) => bytesEqual(x, y)));
  return false;
}

function sameSet(a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  for (const x of b) if (!set.has(x)) return false;
  return true;
}

/** True when any of `paths` differs between the images; a missing attribute (or image) is a value of its own. */
export function attributesChanged(
  oldImage: AttributeMap | undefined,
  newImage: AttributeMap | undefined,
  paths: ReadonlyArray<ReadonlyArray<string>>,
): boolean {
  for (let p = 0; p < paths.length; p++)
    if (!attributeValuesEqual(at(oldImage, paths[p]), at(newImage, paths[p]))) return true;
  return false;
}
