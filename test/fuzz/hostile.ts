/**
 * Hostile inputs for the property-based suites (fast-check): names that are Object.prototype
 * members, strings with unpaired surrogates, very long strings, huge and tiny numbers, deep
 * nesting. Each suite runs with FUZZ_SEED and a bounded number of runs, so `npm test` is
 * repeatable; FUZZ_RUNS=<n> and FUZZ_SEED=<n> in the environment explore further.
 */
import fc from 'fast-check';

/** The seed of every property in `npm test`; a failure prints it with the counterexample. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261207);

/** Runs per property (multiplied by `scale` for cheap properties). */
export function fuzzRuns(scale = 1): number {
  return Math.max(1, Math.round(Number(process.env.FUZZ_RUNS ?? 60) * scale));
}

export function fuzzParams(scale = 1): fc.Parameters<unknown> {
  return { seed: FUZZ_SEED, numRuns: fuzzRuns(scale) };
}

/** Own property names of Object.prototype, and `__proto__`. */
export const PROTOTYPE_NAMES = [
  'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable',
  'toLocaleString', '__defineGetter__', '__lookupSetter__', '__proto__',
];

/** Lone surrogates: high, low, at the edges of their ranges. */
const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff'];

/** A string with an unpaired surrogate somewhere. */
export const illFormedString: fc.Arbitrary<string> = fc
  .tuple(fc.string({ maxLength: 3 }), fc.constantFrom(...LONE_SURROGATES), fc.string({ maxLength: 3 }))
  .map(([a, s, b]) => a + s + b);

/** Strings a careless or hostile client might send. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 12 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }), weight: 2 },
  { arbitrary: fc.constantFrom(...PROTOTYPE_NAMES), weight: 2 },
  { arbitrary: illFormedString, weight: 1 },
  { arbitrary: fc.constantFrom('', ' ', '\u0000', '$set', '_id', 'a.b', '..', '\ud83d\ude00', 'x'.repeat(512), 'x'.repeat(513)), weight: 1 },
);

/** Numbers at the edges of what JSON and doubles hold. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER - 2, 1e-300, 0, 1),
);

/** A field name: a prototype name, an operator-like or reserved name, or any string. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...PROTOTYPE_NAMES), weight: 3 },
  { arbitrary: fc.string({ minLength: 1, maxLength: 8 }), weight: 3 },
  { arbitrary: fc.constantFrom('$inc', '', 'a.b', '_v', '0', 'length'), weight: 1 },
  { arbitrary: illFormedString, weight: 1 },
);

/** An object from entries; a "__proto__" key becomes an own data property, as JSON.parse makes it. */
export function objectOf<T>(entries: [string, T][]): Record<string, T> {
  const o: Record<string, T> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

/** Nested arrays `depth` levels deep around a value. */
export function nested(depth: number, inner: unknown = 1): unknown {
  let v: unknown = inner;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** JSON values with hostile keys, strings and numbers, and now and then a very deep or long one. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: fc.boolean(), weight: 1 },
    { arbitrary: hostileNumber, weight: 3 },
    { arbitrary: hostileString, weight: 3 },
    { arbitrary: fc.array(tie('value'), { maxLength: 4 }), weight: 2 },
    { arbitrary: fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 4 }).map(objectOf), weight: 2 },
    { arbitrary: fc.integer({ min: 95, max: 105 }).map((d) => nested(d)), weight: 1 },
    { arbitrary: fc.constantFrom(100_000, 300_000).map((n) => 'y'.repeat(n)), weight: 1 },
  ),
})).value;

/** A document body (no `_id`): hostile keys to hostile values. */
export const hostileDoc: fc.Arbitrary<Record<string, unknown>> = fc
  .array(fc.tuple(hostileKey, hostileJson), { maxLength: 5 })
  .map(objectOf);
