/**
 * Editing help for query files, without VS Code: what to offer at a place in the text
 * (`db` and `collection` names, field paths, filter or update operators), the text of each
 * operator's hover, and the field paths of a sample of a collection. The operator lists are the
 * engine's own, so completion offers exactly what the engine runs.
 */
import { getLocation, parseTree, findNodeAtLocation, type JSONPath, type Node } from 'jsonc-parser';
import { FIELD_OPERATORS, LOGICAL_OPERATORS } from '../../engine/query/match';
import { UPDATE_OPERATORS } from '../../engine/query/update';
import { QUERY_KINDS } from './query-file';

type FilterOperator = (typeof FIELD_OPERATORS)[number];
type UpdateOperator = (typeof UPDATE_OPERATORS)[number];

/** One line per filter operator: what it matches, with an example. */
export const FILTER_OPERATOR_DOCS: Record<FilterOperator, string> = {
  $eq: 'Equal to the value: `{ "status": { "$eq": "open" } }` (the same as `{ "status": "open" }`).',
  $ne: 'Not equal to the value (also matches documents without the field).',
  $gt: 'Greater than: numbers with numbers, strings with strings. `{ "age": { "$gt": 18 } }`',
  $gte: 'Greater than or equal to. `{ "age": { "$gte": 18 } }`',
  $lt: 'Less than: numbers with numbers, strings with strings. `{ "price": { "$lt": 10 } }`',
  $lte: 'Less than or equal to. `{ "price": { "$lte": 10 } }`',
  $in: 'Equal to any value of the array (or, for an array field, containing one). `{ "tag": { "$in": ["a", "b"] } }`',
  $nin: 'Equal to none of the values of the array. `{ "tag": { "$nin": ["old"] } }`',
  $exists: 'The field is there (`true`) or not (`false`). `{ "email": { "$exists": true } }`',
  $regex: 'A string matching the regular expression; `$options` beside it gives flags. `{ "name": { "$regex": "^ann", "$options": "i" } }`',
  $options: 'Flags of the `$regex` beside it: i (ignore case), m, s, u.',
  $not: 'Does not satisfy the operators inside. `{ "age": { "$not": { "$gt": 65 } } }`',
  $elemMatch: 'An array with an element satisfying every condition. `{ "scores": { "$elemMatch": { "$gte": 80, "$lt": 90 } } }`',
  $size: 'An array of exactly this length. `{ "tags": { "$size": 2 } }`',
  $all: 'An array holding every value given. `{ "tags": { "$all": ["a", "b"] } }`',
  $type: 'A value of this type: string, number, int, bool, object, array, null (or a list of them). `{ "n": { "$type": "number" } }`',
  $mod: 'A number with this remainder: `[divisor, remainder]`. `{ "n": { "$mod": [2, 0] } }`',
  $and: 'Every condition of the array holds. `{ "$and": [{ "a": 1 }, { "b": { "$gt": 2 } }] }`',
  $or: 'At least one condition of the array holds. `{ "$or": [{ "done": true }, { "archived": true }] }`',
  $nor: 'No condition of the array holds. `{ "$nor": [{ "done": true }] }`',
};

/** One line per update operator (the change, "with", of an update). */
export const UPDATE_OPERATOR_DOCS: Record<UpdateOperator, string> = {
  $set: 'Sets fields (dotted paths reach inside objects). `{ "$set": { "done": true, "meta.by": "ann" } }`',
  $unset: 'Removes fields. `{ "$unset": { "draft": "" } }`',
  $inc: 'Adds to numbers (a missing field starts at 0). `{ "$inc": { "views": 1 } }`',
  $mul: 'Multiplies numbers (a missing field becomes 0). `{ "$mul": { "price": 1.1 } }`',
  $min: 'Sets the field if the value is smaller than it (or it is missing). `{ "$min": { "low": 3 } }`',
  $max: 'Sets the field if the value is larger than it (or it is missing). `{ "$max": { "high": 9 } }`',
  $rename: 'Renames fields. `{ "$rename": { "name": "title" } }`',
  $push: 'Appends to an array (`{ "$each": [...] }` for several, with `$slice`, `$position`, `$sort`). `{ "$push": { "tags": "new" } }`',
  $pull: 'Removes the array elements equal to the value or matching the condition. `{ "$pull": { "scores": { "$lt": 50 } } }`',
  $pullAll: 'Removes every element equal to one of the values. `{ "$pullAll": { "tags": ["a", "b"] } }`',
  $addToSet: 'Appends to an array unless an equal element is there (`{ "$each": [...] }` for several). `{ "$addToSet": { "tags": "x" } }`',
  $pop: 'Removes the last (1) or first (-1) element of an array. `{ "$pop": { "queue": -1 } }`',
  $currentDate: 'Sets fields to the current time as an ISO string. `{ "$currentDate": { "seenAt": true } }`',
};

const LOGICAL = new Set<string>(LOGICAL_OPERATORS);
const KINDS = new Set<string>(QUERY_KINDS);

export type Suggestion =
  | { what: 'db' }
  | { what: 'collection'; db: string | undefined }
  /** Field paths of the query's collection (in a filter, also the logical operators). */
  | { what: 'field'; db: string | undefined; collection: string | undefined; logical: boolean }
  | { what: 'filter-operator' }
  /** Update operators (at the top of `with`; a change without operators merges fields, so fields too). */
  | { what: 'update-operator'; db: string | undefined; collection: string | undefined };

export interface SuggestionPlace {
  suggestion: Suggestion;
  /** A key (`"name": `) or a value. */
  isKey: boolean;
  /** The string being typed, when the cursor is in one: it is replaced whole. */
  replace?: { offset: number; length: number };
}

/** What to offer at `offset` of a query file's text, or undefined (the JSON schema covers the query's own keys). */
export function suggestionAt(text: string, offset: number): SuggestionPlace | undefined {
  const location = getLocation(text, offset);
  let path: JSONPath = location.path;
  const root = parseTree(text, [], { allowTrailingComma: true });
  let queryPath: JSONPath = [];
  if (root?.type === 'array' || (!root && typeof path[0] === 'number')) {
    if (typeof path[0] !== 'number') return undefined;
    queryPath = [path[0]];
    path = path.slice(1);
  }
  const query = root ? findNodeAtLocation(root, queryPath) : undefined;
  const stringOf = (key: string): string | undefined => {
    const v = query && findNodeAtLocation(query, [key]);
    return v?.type === 'string' ? String(v.value) : undefined;
  };
  const db = stringOf('db');
  const collection = stringOf('collection');
  const previous = location.previousNode;
  // jsonc-parser gives a key being typed as a 'property' node spanning the key's string. What is
  // replaced ends with the word at the cursor and its closing quote: a quote typed without its
  // closing one makes a string that runs on into the text after it, which stays.
  const replace = previous && (previous.type === 'string' || previous.type === 'property') && previous.offset <= offset && offset <= previous.offset + previous.length
    ? { offset: previous.offset, length: offset + /^[^"\s{}[\],:]*"?/.exec(text.slice(offset))![0].length - previous.offset } : undefined;
  const at = (suggestion: Suggestion, isKey: boolean): SuggestionPlace => ({ suggestion, isKey, replace });
  const [head, ...rest] = path;
  if (path.length === 1 && !location.isAtPropertyKey) {
    if (head === 'db') return at({ what: 'db' }, false);
    if (head === 'collection') return at({ what: 'collection', db }, false);
    return undefined;
  }
  if (!location.isAtPropertyKey || typeof head !== 'string' || rest.length === 0) return undefined;
  if (KINDS.has(head)) {
    const place = filterKey(rest);
    if (place === 'fields') return at({ what: 'field', db, collection, logical: true }, true);
    if (place === 'operators') return at({ what: 'filter-operator' }, true);
    return undefined;
  }
  if ((head === 'sort' || head === 'projection') && rest.length === 1) return at({ what: 'field', db, collection, logical: false }, true);
  if (head === 'with') {
    if (rest.length === 1) return at({ what: 'update-operator', db, collection }, true);
    if (rest.length === 2 && typeof rest[0] === 'string' && rest[0].startsWith('$')) return at({ what: 'field', db, collection, logical: false }, true);
  }
  return undefined;
}

/** Inside a filter, at a key: `rest` is the path from the filter to the key being typed. */
function filterKey(rest: JSONPath): 'fields' | 'operators' | undefined {
  if (rest.length === 1) return 'fields';
  const [head, next, ...tail] = rest;
  if (typeof head !== 'string') return undefined;
  if (LOGICAL.has(head) && typeof next === 'number') return filterKey(tail);
  if (head.startsWith('$')) return undefined;
  if (rest.length === 2) return 'operators';
  if (rest.length === 3 && (next === '$not' || next === '$elemMatch')) return 'operators';
  return undefined;
}

/** The operator's hover text at `offset` (on a `"$op"` key), or undefined. */
export function operatorHoverAt(text: string, offset: number): { text: string; offset: number; length: number } | undefined {
  const location = getLocation(text, offset);
  const node: Node | undefined = location.previousNode;
  if (!node || node.type !== 'property' || !location.isAtPropertyKey || typeof node.value !== 'string' || !node.value.startsWith('$')) return undefined;
  if (offset < node.offset || offset > node.offset + node.length) return undefined;
  const op = node.value;
  const path = location.path.filter((p) => typeof p === 'string');
  const docs: Record<string, string> = path[0] === 'with' && path.length === 2 ? UPDATE_OPERATOR_DOCS : FILTER_OPERATOR_DOCS;
  return Object.hasOwn(docs, op) ? { text: `**${op}** — ${docs[op]}`, offset: node.offset, length: node.length } : undefined;
}

