import { InvalidInputError } from '../notifications.errors';
import type { View } from '../persistence/inbox-model';
import * as schema from './schemas';

/**
 * Filters as the store reads them (`View`), from what a host or a socket sends. Here, not in the
 * service, so that the gateway and the service share one reading of a filter.
 */

/** A validated filter as the store reads it: the inbox unless it names a state. */
export function toView(f: schema.ParsedFilter): View {
  return {
    types: f.type === undefined ? undefined : [f.type].flat(),
    topic: f.topic,
    state: f.state ?? 'inbox',
    tags: f.tags,
    before: f.before,
    after: f.after,
    group: f.group,
  };
}

/** Named views to count; a view of read notifications has no unread ones to count. */
export function parseViews(views: unknown, what: string): Record<string, View> {
  const parsed = schema.parse(schema.views, views, what);
  return Object.fromEntries(
    Object.entries(parsed).map(([name, f]) => {
      if (f.state === 'read') {
        throw new InvalidInputError(`${what}: ${name}.state: a count counts unread notifications, and 'read' has none (list them instead)`);
      }
      return [name, toView(f)];
    }),
  );
}

/**
 * A list query as one view and a page size. `unreadOnly`, `type` and `before` are shorthands the
 * first protocol had, kept beside `filter`: a shorthand and a filter field that disagree are
 * refused rather than one of them silently winning; two `before`s mean the older one.
 */
export function parseListQuery(query: unknown, limits: { max: number; default: number }): { view: View; limit: number } {
  const q = schema.parse(schema.listQuery, query, 'list query');
  if (q.limit !== undefined && q.limit > limits.max) {
    throw new InvalidInputError(`list query: limit: at most ${limits.max}, got ${q.limit}`);
  }
  const f = q.filter ?? {};
  if (q.unreadOnly && f.state !== undefined && f.state !== 'unread') {
    throw new InvalidInputError(`list query: unreadOnly and filter.state '${f.state}' disagree; pass one`);
  }
  if (q.type !== undefined && f.type !== undefined) throw new InvalidInputError('list query: pass type or filter.type, not both');
  const before = q.before === undefined || f.before === undefined ? (q.before ?? f.before) : olderId(q.before, f.before);
  const view = toView({ ...f, type: q.type ?? f.type, state: q.unreadOnly ? 'unread' : f.state, before });
  return { view, limit: q.limit ?? limits.default };
}

function olderId(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? a : b;
}

/** Each view's count by its name: `counts` in the order of `names` (as the repository answers them). */
export function countsByName(names: readonly string[], counts: readonly number[]): Record<string, number> {
  return Object.fromEntries(names.map((name, i) => [name, counts[i]]));
}
