// Deterministic ~1 KiB documents for the sync benchmark (the same generator in every process).
// Text is drawn from a small vocabulary with a PRNG, so it compresses like ordinary prose-ish
// JSON would (not like a run of one repeated character).
import { rng } from '../workloads.mjs';

const CITIES = ['Berlin', 'Paris', 'Lisbon', 'Oslo', 'Madrid', 'Vienna', 'Prague', 'Dublin', 'Warsaw', 'Rome', 'Athens', 'Zurich'];
const TAGS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];
const WORDS = [
  'lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do', 'eiusmod', 'tempor',
  'incididunt', 'ut', 'labore', 'et', 'dolore', 'magna', 'aliqua', 'enim', 'ad', 'minim', 'veniam', 'quis',
  'nostrud', 'exercitation', 'ullamco', 'laboris', 'nisi', 'aliquip', 'ex', 'ea', 'commodo', 'consequat',
];

export const idOf = (prefix, i) => `${prefix}${String(i).padStart(8, '0')}`;

const sentence = (r, n) => {
  const w = [];
  for (let k = 0; k < n; k++) w.push(WORDS[Math.floor(r() * WORDS.length)]);
  return w.join(' ');
};

/**
 * Document i: about 1 KiB of JSON once the engine has added createdAt/updatedAt (≈ 940 bytes as
 * generated; `docBytes()` reports the real average).
 */
export function makeDoc(prefix, i) {
  const r = rng(i * 7919 + prefix.length * 104729 + 17);
  const pick = (arr) => arr[Math.floor(r() * arr.length)];
  return {
    _id: idOf(prefix, i),
    name: `User ${i}`,
    email: `user${i}@example.com`,
    age: i % 90,
    score: Math.round(r() * 100_000) / 100,
    active: r() < 0.5,
    tags: [pick(TAGS), pick(TAGS), pick(TAGS)],
    address: { street: `${Math.floor(r() * 300)} ${pick(WORDS)} street`, city: pick(CITIES), zip: String(10000 + Math.floor(r() * 89999)) },
    history: [0, 1, 2].map((k) => ({ at: 1_700_000_000_000 + Math.floor(r() * 1e10), kind: pick(TAGS), amount: Math.round(r() * 1e6) / 100, ref: `r${i}-${k}` })),
    title: sentence(r, 6),
    body: sentence(r, 80).slice(0, 470),
  };
}

export const makeDocs = (prefix, from, n) => Array.from({ length: n }, (_, k) => makeDoc(prefix, from + k));

/** Average JSON size of generated documents (sampled). */
export function docBytes(prefix, n = 200) {
  let total = 0;
  for (let i = 0; i < n; i++) total += Buffer.byteLength(JSON.stringify(makeDoc(prefix, i)));
  return Math.round(total / n);
}
