import {
  appliesTo,
  urlProblem,
  type Action,
  type Filter,
  type ListPage,
  type NotificationPayload,
  type ReadPayload,
  type StateChange,
  type StatePayload,
} from '../protocol';

/**
 * Pure operations on the list the client holds: newest first, one entry per id. Ids are
 * decimal strings of Postgres bigints, so they compare by length first (no leading zeros),
 * then lexicographically — exact past 2^53, unlike `Number`.
 */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The larger of two ids; `undefined` counts as smaller than any id. */
export function maxId(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareIds(a, b) >= 0 ? a : b;
}

/**
 * The state of `held` updated from `incoming`, the same notification as the server sent it
 * again: seen and read only ever go from `null` to a time (a stale copy never un-reads), archived
 * follows the newer copy. Returns `held` itself when nothing changes.
 */
function updated(held: NotificationPayload, incoming: NotificationPayload): NotificationPayload {
  const seenAt = held.seenAt ?? incoming.seenAt ?? held.readAt ?? incoming.readAt ?? null;
  const readAt = held.readAt ?? incoming.readAt ?? null;
  const archived = incoming.archived ?? held.archived;
  if (seenAt === (held.seenAt ?? null) && readAt === (held.readAt ?? null) && archived === held.archived) return held;
  return { ...held, seenAt, readAt, archived };
}

/**
 * Merges `incoming` into `held` (ordered by id desc). Returns the new list and the items that
 * were not held before; an id already held keeps its entry, with its state updated (seen and
 * read win, archived follows `incoming`).
 */
export function mergeNotifications(
  held: readonly NotificationPayload[],
  incoming: readonly NotificationPayload[],
): { items: NotificationPayload[]; added: NotificationPayload[] } {
  const byId = new Map(held.map((n) => [n.id, n]));
  const added: NotificationPayload[] = [];
  let changed = false;
  for (const n of incoming) {
    const old = byId.get(n.id);
    if (!old) {
      byId.set(n.id, n);
      added.push(n);
      changed = true;
    } else {
      const next = updated(old, n);
      if (next !== old) {
        byId.set(n.id, next);
        changed = true;
      }
    }
  }
  if (!changed) return { items: held as NotificationPayload[], added };
  const items = [...byId.values()].sort((a, b) => compareIds(b.id, a.id));
  return { items, added };
}

/**
 * The protocol's rule for groups (docs/protocol.md#groups): a notification that `replaces` an
 * item drops the held item of that id, and of the unread items of one group (its scope and key)
 * only the newest is kept, which covers an item that replaces one this client never saw (after
 * a gap). Returns `items` itself when nothing goes. Not for a group's detail list (`filter.group`),
 * which shows every notification of the group.
 */
export function supersede(items: readonly NotificationPayload[], incoming: readonly NotificationPayload[] = []): NotificationPayload[] {
  const replaced = new Set(incoming.map((n) => n.replaces).filter((id): id is string => typeof id === 'string'));
  const newest = new Map<string, string>();
  for (const n of items) {
    if (!n.group || n.readAt) continue;
    const key = JSON.stringify([n.scope ?? null, n.group.key]);
    const held = newest.get(key);
    if (held === undefined || compareIds(n.id, held) > 0) newest.set(key, n.id);
  }
  const kept = items.filter(
    (n) => !replaced.has(n.id) && (!n.group || n.readAt || newest.get(JSON.stringify([n.scope ?? null, n.group.key])) === n.id),
  );
  return kept.length === items.length ? (items as NotificationPayload[]) : kept;
}

/**
 * Marks the notifications a `notifications:read` names (or all) as read (and so seen) at `at`;
 * a read made in another scope (`read.scope`) marks only unscoped ones (see appliesTo).
 */
export function applyRead(items: readonly NotificationPayload[], read: ReadPayload, at: string): NotificationPayload[] {
  const ids = 'all' in read ? null : new Set(read.ids);
  return items.map((n) =>
    !n.readAt && (ids === null || ids.has(n.id)) && appliesTo(n.scope, read.scope) ? { ...n, readAt: at, seenAt: n.seenAt ?? at } : n,
  );
}

/**
 * Whether a notification is in the view `filter` selects, judged from what the client holds,
 * with the server's rules: without `state` the inbox (not archived); `unseen`, `unread` and
 * `read` are within the inbox too; `archived` only archived ones; `all` everything. Deleted
 * notifications are never held, so never match.
 */
export function matchesFilter(n: NotificationPayload, filter: Filter): boolean {
  if (filter.type !== undefined) {
    const types = typeof filter.type === 'string' ? [filter.type] : filter.type;
    if (!types.includes(n.type)) return false;
  }
  if (filter.topic !== undefined && n.topic !== filter.topic) return false;
  if (filter.group !== undefined && n.group?.key !== filter.group) return false;
  if (filter.tags && filter.tags.length) {
    const tags = n.tags ?? [];
    if (!filter.tags.every((t) => tags.includes(t))) return false;
  }
  if (filter.before !== undefined && compareIds(n.id, filter.before) >= 0) return false;
  if (filter.after !== undefined && compareIds(n.id, filter.after) <= 0) return false;
  const archived = n.archived === true;
  switch (filter.state) {
    case undefined:
      return !archived;
    case 'unseen':
      return !archived && !n.seenAt && !n.readAt;
    case 'unread':
      return !archived && !n.readAt;
    case 'read':
      return !archived && !!n.readAt;
    case 'archived':
      return archived;
    case 'all':
      return true;
    default:
      return false;
  }
}

/**
 * Applies a `notifications:state` (or the client's own state operation) to the held list: the
 * notifications it names by id, or those its filter matches here. Seen and read set their time
 * (`at`) where it is not set yet, read also sets seen; archived and unarchived flip the flag;
 * deleted and snoozed ones leave the list. Returns `items` itself when nothing changes.
 */
export function applyState(items: readonly NotificationPayload[], state: StatePayload, at: string): NotificationPayload[] {
  const ids = 'ids' in state ? new Set(state.ids) : null;
  // A change made in another scope reaches this client too: it touches only unscoped items here.
  const selected = (n: NotificationPayload) =>
    appliesTo(n.scope, state.scope) && (ids ? ids.has(n.id) : matchesFilter(n, (state as { filter: Filter }).filter));
  let changed = false;
  const out: NotificationPayload[] = [];
  for (const n of items) {
    if (!selected(n)) {
      out.push(n);
      continue;
    }
    let next: NotificationPayload | null = n;
    switch (state.change) {
      case 'seen':
        if (!n.seenAt) next = { ...n, seenAt: n.readAt ?? at };
        break;
      case 'read':
        if (!n.readAt) next = { ...n, readAt: at, seenAt: n.seenAt ?? at };
        break;
      case 'archived':
        if (!n.archived) next = { ...n, archived: true };
        break;
      case 'unarchived':
        if (n.archived) next = { ...n, archived: false };
        break;
      case 'deleted':
      case 'snoozed': // gone until it comes back, as a new notification with a new id
        next = null;
        break;
    }
    if (next !== n) changed = true;
    if (next) out.push(next);
  }
  return changed ? out : (items as NotificationPayload[]);
}

/**
 * Whether a change can bring into the view `filter` selects notifications the client does not
 * hold (so it must read the view again): archiving into the archive, unarchiving into the inbox
 * views, reading into `read`. The others only take notifications out of a view, or change held
 * ones (a snoozed one comes back as a new notification, pushed like any other).
 */
export function mayEnterView(change: StateChange, filter: Filter): boolean {
  switch (change) {
    case 'archived':
      return filter.state === 'archived';
    case 'unarchived':
      return filter.state !== 'archived' && filter.state !== 'all';
    case 'read':
      return filter.state === 'read';
    default:
      return false;
  }
}

/** The held notifications still in the view `filter` selects; `items` itself when all are. */
export function inView(items: readonly NotificationPayload[], filter: Filter): NotificationPayload[] {
  const kept = items.filter((n) => matchesFilter(n, filter));
  return kept.length === items.length ? (items as NotificationPayload[]) : kept;
}

/**
 * Reconciles the newest page of a view, just read from the server, with what is held. The page
 * is the server's truth from its oldest item up (for every id, when it is the last page): a held
 * notification there that the page lacks has left the view without this client being told (read,
 * archived or deleted while it was away), unless it is in `arrived`, pushed while the page was
 * being read. Older held ones are kept when `keepOlder` (pages loaded before, still to be paged
 * from the same cursor); otherwise they are dropped, so the list has no gap below the page.
 */
export function reconcileNewestPage(
  held: readonly NotificationPayload[],
  page: ListPage,
  arrived: ReadonlySet<string>,
  keepOlder: boolean,
): NotificationPayload[] {
  const oldest = page.nextCursor === null ? undefined : page.items[page.items.length - 1]?.id;
  const inPage = new Set(page.items.map((n) => n.id));
  const kept = held.filter((n) => {
    if (inPage.has(n.id) || arrived.has(n.id)) return true;
    const older = oldest !== undefined && compareIds(n.id, oldest) < 0;
    return older && keepOlder;
  });
  return mergeNotifications(kept, page.items).items;
}

/** Whether a received link is one the page may follow or load: `http(s)` or site-relative, as the server requires. */
function safeLink(url: unknown): url is string {
  return typeof url === 'string' && urlProblem(url) === null;
}

/**
 * `n` as the page may use it: a `url`, an action's `url` or an `actor.avatarUrl` that breaks
 * the server's link rule (`javascript:`, `data:`, `//host`…) is dropped, and an action left
 * with neither url nor event goes. The server checks every link it stores, but a row written
 * around its functions (a migration, a hand-written INSERT) never met that check, and the page
 * would put the link in an `href` or `src`. An action that is not an object goes too. Returns
 * `n` itself when every link holds.
 */
export function withSafeLinks(n: NotificationPayload): NotificationPayload {
  const actions = Array.isArray(n.actions) ? n.actions : [];
  const safeAction = (a: Action) => typeof a === 'object' && a !== null && (a.url === undefined || safeLink(a.url));
  const urlOk = n.url === null || n.url === undefined || safeLink(n.url);
  const actionsOk = actions === n.actions && actions.every(safeAction);
  const avatar = n.actor?.avatarUrl;
  const actorOk = avatar === undefined || safeLink(avatar);
  if (urlOk && actionsOk && actorOk) return n;
  const safeActions: Action[] = [];
  for (const a of actions) {
    if (safeAction(a)) safeActions.push(a);
    else if (typeof a === 'object' && a !== null && a.event !== undefined) {
      const { url: _dropped, ...rest } = a;
      safeActions.push(rest);
    }
  }
  let actor = n.actor;
  if (!actorOk && actor) {
    const { avatarUrl: _dropped, ...rest } = actor;
    actor = rest;
  }
  return { ...n, url: urlOk ? (n.url ?? null) : null, actions: safeActions, actor };
}

/** A page with {@link withSafeLinks} applied to each item; the page itself when nothing changes. */
export function pageWithSafeLinks(page: ListPage): ListPage {
  const items = page.items.map(withSafeLinks);
  return items.every((n, i) => n === page.items[i]) ? page : { ...page, items };
}
