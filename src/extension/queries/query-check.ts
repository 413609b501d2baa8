/**
 * Checks the parts of a query with the engine's own code — the filter with `compileQuery` (what
 * `find`, `count`, `updateMany` and `deleteMany` run), `sort` with `compileSort`, `projection`
 * with `compileProjection`, the change of an update with `isOperatorUpdate` and `applyUpdate` —
 * so the editor and the engine never disagree about what is valid. The engine says what is
 * wrong; this module finds where: the smallest part of the text that fails by itself (a field's
 * condition, one operator, one item of an `$or`).
 */
import { getNodeValue, type Node } from 'jsonc-parser';
import { compileQuery, LOGICAL_OPERATORS } from '../../engine/query/match';
import { compileProjection } from '../../engine/query/projection';
import { compileSort } from '../../engine/query/sort';
import { applyUpdate, isOperatorUpdate } from '../../engine/query/update';

export interface CheckProblem {
  node: Node;
  message: string;
}

const LOGICAL = new Set<string>(LOGICAL_OPERATORS);

/** The engine's message when `run` throws, else undefined. */
function failure(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** An object with one property (no prototype, so "__proto__" is a field like any other). */
function single(key: string, value: unknown): Record<string, unknown> {
  const o = Object.create(null) as Record<string, unknown>;
  o[key] = value;
  return o;
}

function properties(node: Node): { prop: Node; key: string; value: Node }[] {
  return (node.children ?? []).flatMap((prop) => {
    const [k, value] = prop.children ?? [];
    return k && value ? [{ prop, key: String(k.value), value }] : [];
  });
}

/** A filter (the value of find, count, update or delete). */
export function checkFilter(node: Node): CheckProblem | undefined {
  const message = failure(() => compileQuery(getNodeValue(node)));
  return message === undefined ? undefined : narrowFilter(node) ?? { node, message };
}

/** The first property of a filter object that fails by itself, narrowed further where it can be. */
function narrowFilter(node: Node): CheckProblem | undefined {
  if (node.type !== 'object') return undefined;
  for (const { prop, key, value } of properties(node)) {
    const message = failure(() => compileQuery(single(key, getNodeValue(value))));
    if (message === undefined) continue;
    if (LOGICAL.has(key) && value.type === 'array') {
      for (const item of value.children ?? []) {
        const inner = item.type === 'object' && failure(() => compileQuery(getNodeValue(item))) !== undefined ? narrowFilter(item) : undefined;
        if (inner) return inner;
      }
    }
    if (!key.startsWith('$') && value.type === 'object') {
      const ops = properties(value);
      if (ops.length > 1 && ops.every((o) => o.key.startsWith('$'))) {
        const regex = ops.find((o) => o.key === '$regex');
        for (const op of ops) {
          if (op.key === '$options' && regex) continue;
          const condition = single(op.key, getNodeValue(op.value));
          if (op.key === '$regex') for (const o of ops) if (o.key === '$options') condition.$options = getNodeValue(o.value);
          const m = failure(() => compileQuery(single(key, condition)));
          if (m !== undefined) return { node: op.prop, message: m };
        }
      }
    }
    return { node: prop, message };
  }
  return undefined;
}

/** The sort of a find. */
export function checkSort(node: Node): CheckProblem | undefined {
  const message = failure(() => compileSort(getNodeValue(node)));
  if (message === undefined) return undefined;
  const bad = properties(node).find(({ key, value }) => failure(() => compileSort(single(key, getNodeValue(value)))) !== undefined);
  return { node: bad?.prop ?? node, message };
}

/** The projection of a find. */
export function checkProjection(node: Node): CheckProblem | undefined {
  const message = failure(() => compileProjection(getNodeValue(node)));
  if (message === undefined) return undefined;
  const bad = properties(node).find(({ key, value }) => failure(() => compileProjection(single(key, getNodeValue(value)))) !== undefined);
  return { node: bad?.prop ?? node, message };
}

/**
 * The change of an update, applied to an empty document: what is wrong with the change itself
 * (an unknown operator, `$inc` of a string, `$set` of `_id`). What depends on a document's
 * content (`$inc` of a field holding a string) shows only when it runs.
 */
export function checkChange(node: Node): CheckProblem | undefined {
  const apply = (change: unknown) => {
    isOperatorUpdate(change);
    applyUpdate({ _id: '_' }, change as object, new Date(0).toISOString());
  };
  const message = failure(() => apply(getNodeValue(node)));
  if (message === undefined) return undefined;
  const bad = properties(node).find(({ key, value }) => key.startsWith('$') && failure(() => apply(single(key, getNodeValue(value)))) !== undefined);
  if (!bad) return { node, message };
  // A known operator: the field it refuses (an unknown one is refused whole).
  const known = failure(() => apply(single(bad.key, Object.create(null)))) === undefined;
  const field = known && bad.value.type === 'object' ? properties(bad.value).find(({ key, value }) => failure(() => apply(single(bad.key, single(key, getNodeValue(value))))) !== undefined) : undefined;
  if (field) return { node: field.prop, message: failure(() => apply(single(bad.key, single(field.key, getNodeValue(field.value))))) ?? message };
  return { node: bad.prop, message: failure(() => apply(single(bad.key, getNodeValue(bad.value)))) ?? message };
}
