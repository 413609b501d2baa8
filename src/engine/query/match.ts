/**
 * MongoDB-style query matching, compiled once into a tree of closures and then run per document.
 *
 * Semantics in brief (see {@link compileQuery} for the full list):
 * - Sibling conditions are ANDed: `{ a: 1, $or: [...] }` is `a == 1 AND (any of $or)`.
 * - A condition on a path is tested against every value reachable at that path (arrays met midway
 *   are traversed, see `visitPath`), and a reached array matches if the array itself OR any of its
 *   elements satisfies the operator ("array contains"). Each operator of a condition is checked
 *   on its own, so `{ a: { $gt: 5, $lt: 3 } }` matches `{ a: [1, 10] }` (as in MongoDB); use
 *   `$elemMatch` to require a single element to satisfy all of them.
 * - Ranges compare only within one type class (a string is never `$gt` a number).
 * - Negations (`$ne`, `$nin`, `$not`, `$nor`, `$exists: false`) are the exact complement of the
 *   positive form, so they match documents where the field is missing.
 * - A `Date` in a query is compared as its ISO string (dates are stored as ISO strings).
 */
import { ValidationError, safeJson } from '../errors';
import { compareValues, deepEqual, isPlainObject, normalizeValue, sameTypeClass } from './values';
import { splitPath, visitPath } from './path';

/** A MongoDB-style filter object, e.g. `{ age: { $gte: 18 }, 'address.city': 'Oslo' }`. */
export type QueryFilter = Record<string, unknown>;

/** A filter object, or a predicate used as is. `undefined`/`null`/`{}` match every document. */
export type Query<D = unknown> = QueryFilter | ((doc: D) => boolean) | null | undefined;

/** Tests one value. */
type Pred = (value: unknown) => boolean;
/** Tests a document (field mode) or a single value (value mode, inside `$elemMatch`). */
type Test = (target: unknown) => boolean;
/**
 * Feeds the value(s) a condition is about to a predicate; true if any of them satisfies it.
 * Field mode: every value reachable at the path in the document. Value mode: the value itself.
 */
type Access = (target: unknown, pred: Pred) => boolean;

/** Every field-level operator, for error messages (and the query editor's completion). */
export const FIELD_OPERATORS = [
  '$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$regex', '$options',
  '$not', '$elemMatch', '$size', '$all', '$type', '$mod', '$and', '$or', '$nor',
] as const;
/** The logical operators, at the top of a filter or in a field's condition. */
export const LOGICAL_OPERATORS = ['$and', '$or', '$nor'] as const;
const LOGICAL = new Set<string>(LOGICAL_OPERATORS);

const matchAll = (): boolean => true;
const matchNone = (): boolean => false;
const isDefined: Pred = (v) => v !== undefined;
const isNullish: Pred = (v) => v === null || v === undefined;
const valueAccess: Access = (v, pred) => pred(v);

/**
 * Compiles a query into a predicate. Compile once, then call the result per document.
 *
 * Accepted forms: `undefined`/`null`/`{}` (match all); a function (returned unchanged); a filter:
 * - `{ field: value }` equality. `value` may be a RegExp (string fields matching it). A field
 *   holding an array matches if the array equals `value` or contains it. `null` (or `undefined`)
 *   matches `null` and missing fields. Objects compare structurally, key order ignored.
 * - Field operators: `$eq $ne $gt $gte $lt $lte $in $nin $exists $regex` (+ `$options`: i m s u)
 *   `$not` (an operator object or a RegExp) `$elemMatch` (operators applied to each element, or a
 *   sub-query applied to each object element) `$size $all $type $mod`, and — beyond MongoDB — a
 *   field-level `$and/$or/$nor` whose items are conditions for the same field:
 *   `{ age: { $or: [{ $lt: 13 }, { $gt: 64 }] } }`.
 * - Logical: `$and $or $nor` with non-empty arrays of filters, at any depth.
 * - Paths: "address.city", "items.0.sku" (numeric segment = array index), "items.sku" (each item).
 *
 * @throws ValidationError for an unknown operator (the message lists the supported ones), a
 *   malformed operand (`$in` without an array, `$size: -1`, a bad regex, ...), or a filter that is
 *   not an object.
 */
export function compileQuery<D = unknown>(query?: Query<D>): (doc: D) => boolean {
  if (query === undefined || query === null) return matchAll;
  if (typeof query === 'function') return query;
  if (!isPlainObject(query)) {
    throw new ValidationError(
      `Invalid query ${safeJson(query)}: a query must be an object such as { age: { $gt: 30 } }, a function (doc) => boolean, or undefined to match everything.`,
    );
  }
  return compileFilter(query);
}

/**
 * Compiles the condition used by `$pull` (and usable anywhere an array element is tested):
 * - a RegExp: string elements matching it;
 * - an operator object (`{ $gte: 6 }`, `{ $in: [...] }`): elements satisfying every operator;
 * - any other object (`{ sku: 'A', qty: { $gt: 1 } }`, or with `$and/$or/$nor`): a sub-query
 *   applied to elements that are objects;
 * - anything else: elements deep-equal to it.
 */
export function compileElementPredicate(condition: unknown): (element: unknown) => boolean {
  const cond = normalizeValue(condition);
  if (cond instanceof RegExp) return regexPred(statelessRegex(cond));
  if (isPlainObject(cond)) return elementMatcher(cond, '$pull');
  return (x) => deepEqual(x, cond);
}

// ---------------------------------------------------------------------------------------------
// Filters (documents)

function compileFilter(query: QueryFilter): Test {
  const tests: Test[] = [];
  for (const key of Object.keys(query)) {
    const cond = query[key];
    if (key.startsWith('$')) {
      switch (key) {
        case '$and':
          tests.push(allOf(subFilters(key, cond)));
          break;
        case '$or':
          tests.push(anyOf(subFilters(key, cond)));
          break;
        case '$nor':
          tests.push(not(anyOf(subFilters(key, cond))));
          break;
        default:
          throw new ValidationError(
            `Unknown top-level query operator "${key}". At the top level use field names or $and, $or, $nor; field operators (${FIELD_OPERATORS.join(', ')}) go inside a field's condition, e.g. { age: { $gt: 30 } }.`,
          );
      }
    } else {
      tests.push(compileCondition(cond, fieldAccess(key), key));
    }
  }
  return allOf(tests);
}

function subFilters(op: string, items: unknown): Test[] {
  if (!Array.isArray(items) || items.length === 0) {
    throw new ValidationError(`"${op}" needs a non-empty array of query objects, e.g. { ${op}: [{ a: 1 }, { b: 2 }] }; got ${safeJson(items)}.`);
  }
  return items.map((item, i) => {
    if (!isPlainObject(item)) {
      throw new ValidationError(`"${op}" item ${i} must be a query object such as { a: 1 }; got ${safeJson(item)}.`);
    }
    return compileFilter(item);
  });
}

/** Builds the accessor for a dot path; plain field names skip the generic traversal. */
function fieldAccess(path: string): Access {
  const segments = splitPath(path);
  const key = segments[0];
  // `key in Object.prototype` catches "constructor", "toString", "__proto__", ...: those must be
  // read as own properties only, which the generic traversal does.
  if (segments.length === 1 && !(key in Object.prototype)) {
    return (doc, pred) => {
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return visitPath(doc, segments, pred);
      return pred((doc as Record<string, unknown>)[key]);
    };
  }
  return (doc, pred) => visitPath(doc, segments, pred);
}

// ---------------------------------------------------------------------------------------------
// Conditions (one field, or one value)

/** `{ $gt: 1 }` yes; `{}` and `{ a: 1 }` no; a mix of `$` and plain keys is an error. */
function isOperatorObject(cond: unknown, label: string): cond is Record<string, unknown> {
  if (!isPlainObject(cond)) return false;
  const keys = Object.keys(cond);
  if (keys.length === 0) return false;
  const ops = keys.filter((k) => k.startsWith('$'));
  if (ops.length === 0) return false;
  if (ops.length !== keys.length) {
    throw new ValidationError(
      `The condition for "${label}" mixes operators (${ops.join(', ')}) with plain fields (${keys.filter((k) => !k.startsWith('$')).join(', ')}). Use only operators, e.g. { $gt: 1 }, or only a literal object to compare with.`,
    );
  }
  return true;
}

function compileCondition(raw: unknown, access: Access, label: string): Test {
  const cond = normalizeValue(raw);
  if (cond instanceof RegExp) return regexTest(cond, access);
  if (isOperatorObject(cond, label)) return compileOperators(cond, access, label);
  return eqTest(cond, access);
}

function compileOperators(ops: Record<string, unknown>, access: Access, label: string): Test {
  const tests: Test[] = [];
  if ('$options' in ops && !('$regex' in ops)) {
    throw new ValidationError(`"$options" in the condition for "${label}" needs a "$regex" next to it, e.g. { $regex: "^ab", $options: "i" }.`);
  }
  for (const op of Object.keys(ops)) {
    const arg = ops[op];
    switch (op) {
      case '$eq':
        tests.push(eqOrRegexTest(arg, access));
        break;
      case '$ne':
        tests.push(not(eqOrRegexTest(arg, access)));
        break;
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        tests.push(rangeTest(op, normalizeValue(arg), access));
        break;
      case '$in':
        tests.push(inTest(op, arg, access, label));
        break;
      case '$nin':
        tests.push(not(inTest(op, arg, access, label)));
        break;
      case '$exists': {
        const exists: Test = (t) => access(t, isDefined);
        tests.push(arg ? exists : not(exists));
        break;
      }
      case '$regex':
        tests.push(regexTest(makeRegex(arg, ops.$options, label), access));
        break;
      case '$options':
        break; // consumed by $regex
      case '$not':
        tests.push(not(notOperand(arg, access, label)));
        break;
      case '$elemMatch':
        tests.push(elemMatchTest(arg, access, label));
        break;
      case '$size': {
        if (typeof arg !== 'number' || !Number.isInteger(arg) || arg < 0) {
          throw new ValidationError(`"$size" for "${label}" needs a non-negative integer (the array length); got ${safeJson(arg)}.`);
        }
        tests.push((t) => access(t, (x) => Array.isArray(x) && x.length === arg));
        break;
      }
      case '$all':
        tests.push(allTest(arg, access, label));
        break;
      case '$type':
        tests.push(typeTest(arg, access, label));
        break;
      case '$mod':
        tests.push(modTest(arg, access, label));
        break;
      case '$and':
      case '$or':
      case '$nor': {
        if (!Array.isArray(arg) || arg.length === 0) {
          throw new ValidationError(`"${op}" inside the condition for "${label}" needs a non-empty array of conditions, e.g. { ${op}: [{ $lt: 1 }, { $gt: 9 }] }; got ${safeJson(arg)}.`);
        }
        const items = arg.map((item) => compileCondition(item, access, label));
        tests.push(op === '$and' ? allOf(items) : op === '$or' ? anyOf(items) : not(anyOf(items)));
        break;
      }
      default:
        throw new ValidationError(
          `Unknown query operator "${op}" in the condition for "${label}". Supported operators: ${FIELD_OPERATORS.join(', ')}.`,
        );
    }
  }
  return allOf(tests);
}

/** "x or, when x is an array, any element" — the array-contains rule. */
function expand(pred: Pred): Pred {
  return (x) => {
    if (pred(x)) return true;
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) if (pred(x[i])) return true;
    }
    return false;
  };
}

/** `{ field: null }`: a null value, a null array element, or nothing at the path. */
function nullTest(access: Access): Test {
  const anyNull = expand(isNullish);
  return (t) => !access(t, isDefined) || access(t, anyNull);
}

function eqPred(v: unknown): Pred {
  if (typeof v === 'number' && v !== v) return (x) => typeof x === 'number' && x !== x;
  if (v !== null && typeof v === 'object') return (x) => deepEqual(x, v);
  return (x) => x === v;
}

function eqTest(v: unknown, access: Access): Test {
  if (v === null || v === undefined) return nullTest(access);
  const pred = expand(eqPred(v));
  return (t) => access(t, pred);
}

/** `$eq`/`$ne` operand: a RegExp there means "matches the regex" (as inside `$in`). */
function eqOrRegexTest(arg: unknown, access: Access): Test {
  const v = normalizeValue(arg);
  return v instanceof RegExp ? regexTest(v, access) : eqTest(v, access);
}

function rangeTest(op: '$gt' | '$gte' | '$lt' | '$lte', bound: unknown, access: Access): Test {
  let pred: Pred;
  if (typeof bound === 'number') {
    // Fast paths for the common bounds: no type-rank lookup, no generic comparison.
    if (op === '$gt') pred = (x) => typeof x === 'number' && x > bound;
    else if (op === '$gte') pred = (x) => typeof x === 'number' && x >= bound;
    else if (op === '$lt') pred = (x) => typeof x === 'number' && x < bound;
    else pred = (x) => typeof x === 'number' && x <= bound;
  } else if (typeof bound === 'string') {
    if (op === '$gt') pred = (x) => typeof x === 'string' && x > bound;
    else if (op === '$gte') pred = (x) => typeof x === 'string' && x >= bound;
    else if (op === '$lt') pred = (x) => typeof x === 'string' && x < bound;
    else pred = (x) => typeof x === 'string' && x <= bound;
  } else if (bound === null || bound === undefined) {
    // null and missing are one class with one member: >= and <= mean "is null/missing".
    return op === '$gte' || op === '$lte' ? nullTest(access) : matchNone;
  } else {
    const accept =
      op === '$gt' ? (c: number) => c > 0 : op === '$gte' ? (c: number) => c >= 0 : op === '$lt' ? (c: number) => c < 0 : (c: number) => c <= 0;
    pred = (x) => sameTypeClass(x, bound) && accept(compareValues(x, bound));
  }
  const p = expand(pred);
  return (t) => access(t, p);
}

function inTest(op: string, arg: unknown, access: Access, label: string): Test {
  if (!Array.isArray(arg)) {
    throw new ValidationError(`"${op}" for "${label}" needs an array of values, e.g. { ${op}: ["a", "b"] }; got ${safeJson(arg)}.`);
  }
  // Split the list once so the per-document check is a Set lookup in the common case.
  const primitives = new Set<unknown>(); // SameValueZero: 0 === -0, NaN finds NaN, 1 !== "1"
  const regexes: Pred[] = [];
  const complex: unknown[] = [];
  let hasNull = false;
  for (const raw of arg) {
    const v = normalizeValue(raw);
    if (v === null || v === undefined) hasNull = true;
    else if (v instanceof RegExp) regexes.push(regexPred(statelessRegex(v)));
    else if (typeof v === 'object') complex.push(v);
    else primitives.add(v);
  }
  let pred: Pred;
  if (regexes.length === 0 && complex.length === 0) {
    pred = (x) => primitives.has(x);
  } else {
    pred = (x) => {
      if (primitives.has(x)) return true;
      if (typeof x === 'string') {
        for (const re of regexes) if (re(x)) return true;
      } else if (x !== null && typeof x === 'object') {
        for (const c of complex) if (deepEqual(x, c)) return true;
      }
      return false;
    };
  }
  const p = expand(pred);
  const base: Test = (t) => access(t, p);
  if (!hasNull) return base;
  const nt = nullTest(access);
  return (t) => base(t) || nt(t);
}

/**
 * A RegExp without the `g` flag, whose `test()` would otherwise carry `lastIndex` from one
 * document to the next. (A sticky `y` regex keeps its flag; {@link regexPred} resets it.)
 * Always a private copy, so the caller's RegExp object is never touched.
 */
function statelessRegex(re: RegExp): RegExp {
  return new RegExp(re.source, re.flags.replace('g', ''));
}

function regexPred(re: RegExp): Pred {
  if (re.sticky) {
    // Sticky = anchored at lastIndex, which must be 0 for every document.
    return (x) => {
      if (typeof x !== 'string') return false;
      re.lastIndex = 0;
      return re.test(x);
    };
  }
  return (x) => typeof x === 'string' && re.test(x);
}

function regexTest(re: RegExp, access: Access): Test {
  const p = expand(regexPred(statelessRegex(re)));
  return (t) => access(t, p);
}

function makeRegex(pattern: unknown, options: unknown, label: string): RegExp {
  if (options !== undefined && (typeof options !== 'string' || !/^[imsu]*$/.test(options))) {
    throw new ValidationError(`"$options" for "${label}" must be a string of the flags i, m, s, u (e.g. "i"); got ${safeJson(options)}.`);
  }
  if (pattern instanceof RegExp) {
    return options === undefined ? pattern : new RegExp(pattern.source, options as string);
  }
  if (typeof pattern !== 'string') {
    throw new ValidationError(`"$regex" for "${label}" needs a string pattern or a RegExp; got ${safeJson(pattern)}.`);
  }
  try {
    return new RegExp(pattern, (options as string | undefined) ?? '');
  } catch (e) {
    throw new ValidationError(`"$regex" for "${label}" is not a valid regular expression (${(e as Error).message}). Escape special characters such as ( [ * + ? with a backslash.`);
  }
}

function notOperand(arg: unknown, access: Access, label: string): Test {
  const v = normalizeValue(arg);
  if (v instanceof RegExp) return regexTest(v, access);
  if (isPlainObject(v) && isOperatorObject(v, label)) return compileOperators(v, access, label);
  throw new ValidationError(`"$not" for "${label}" needs an operator object such as { $gt: 5 } or a RegExp; got ${safeJson(arg)}. To test inequality use { $ne: value }.`);
}

/** Predicate for one array element: operators on the element, or a sub-query on object elements. */
function elementMatcher(cond: Record<string, unknown>, label: string): Pred {
  const keys = Object.keys(cond);
  const valueMode = keys.length > 0 && keys.every((k) => k.startsWith('$') && !LOGICAL.has(k));
  if (valueMode) return compileOperators(cond, valueAccess, label);
  const sub = compileFilter(cond);
  return (x) => x !== null && typeof x === 'object' && !Array.isArray(x) && sub(x);
}

function elemMatchTest(arg: unknown, access: Access, label: string): Test {
  if (!isPlainObject(arg)) {
    throw new ValidationError(`"$elemMatch" for "${label}" needs an object: operators for each element ({ $gte: 80, $lt: 90 }) or a query for object elements ({ sku: "A", qty: { $gt: 1 } }); got ${safeJson(arg)}.`);
  }
  const elem = elementMatcher(arg, `${label}.$elemMatch`);
  const pred: Pred = (x) => {
    if (!Array.isArray(x)) return false;
    for (let i = 0; i < x.length; i++) if (elem(x[i])) return true;
    return false;
  };
  return (t) => access(t, pred);
}

function allTest(arg: unknown, access: Access, label: string): Test {
  if (!Array.isArray(arg)) {
    throw new ValidationError(`"$all" for "${label}" needs an array of values that must all be present, e.g. { $all: ["a", "b"] }; got ${safeJson(arg)}.`);
  }
  if (arg.length === 0) return matchNone; // MongoDB: an empty $all matches nothing
  const tests = arg.map((item) => {
    if (isPlainObject(item) && Object.keys(item).length === 1 && '$elemMatch' in item) {
      return elemMatchTest(item.$elemMatch, access, label);
    }
    return eqOrRegexTest(item, access);
  });
  return allOf(tests);
}

const TYPE_ALIASES: Record<string, Pred> = {
  null: (x) => x === null,
  number: (x) => typeof x === 'number',
  double: (x) => typeof x === 'number',
  decimal: (x) => typeof x === 'number',
  int: (x) => typeof x === 'number' && Number.isInteger(x),
  long: (x) => typeof x === 'number' && Number.isInteger(x),
  string: (x) => typeof x === 'string',
  object: (x) => x !== null && typeof x === 'object' && !Array.isArray(x),
  array: (x) => Array.isArray(x),
  bool: (x) => typeof x === 'boolean',
  boolean: (x) => typeof x === 'boolean',
};
const TYPE_CODES: Record<number, string> = { 1: 'double', 2: 'string', 3: 'object', 4: 'array', 8: 'bool', 10: 'null', 16: 'int', 18: 'long', 19: 'decimal' };

function typeTest(arg: unknown, access: Access, label: string): Test {
  const wanted = Array.isArray(arg) ? arg : [arg];
  const preds = wanted.map((w) => {
    const name = typeof w === 'number' ? TYPE_CODES[w] : w;
    const pred = typeof name === 'string' && Object.prototype.hasOwnProperty.call(TYPE_ALIASES, name) ? TYPE_ALIASES[name] : undefined;
    if (!pred) {
      throw new ValidationError(`"$type" for "${label}" does not know the type ${safeJson(w)}. Use one of: ${Object.keys(TYPE_ALIASES).join(', ')} (or a BSON type number).`);
    }
    return pred;
  });
  const p = expand((x) => preds.some((q) => q(x)));
  return (t) => access(t, p);
}

function modTest(arg: unknown, access: Access, label: string): Test {
  if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'number' || typeof arg[1] !== 'number' || arg[0] === 0) {
    throw new ValidationError(`"$mod" for "${label}" needs [divisor, remainder] with a non-zero divisor, e.g. { $mod: [4, 0] }; got ${safeJson(arg)}.`);
  }
  const [d, r] = arg as [number, number];
  const p = expand((x) => typeof x === 'number' && x % d === r);
  return (t) => access(t, p);
}

// ---------------------------------------------------------------------------------------------
// Combinators (specialised for small arities: these run per document)

function allOf(tests: Test[]): Test {
  switch (tests.length) {
    case 0:
      return matchAll;
    case 1:
      return tests[0];
    case 2: {
      const [a, b] = tests;
      return (t) => a(t) && b(t);
    }
    case 3: {
      const [a, b, c] = tests;
      return (t) => a(t) && b(t) && c(t);
    }
    default:
      return (t) => {
        for (let i = 0; i < tests.length; i++) if (!tests[i](t)) return false;
        return true;
      };
  }
}

function anyOf(tests: Test[]): Test {
  if (tests.length === 1) return tests[0];
  return (t) => {
    for (let i = 0; i < tests.length; i++) if (tests[i](t)) return true;
    return false;
  };
}

function not(test: Test): Test {
  return (t) => !test(t);
}
