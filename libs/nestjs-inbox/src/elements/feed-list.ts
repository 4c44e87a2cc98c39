import type { FeedNotification } from './feed-types';

/** The list's item nodes by notification id, with the JSON they were drawn from. */
export type ItemNodes = Map<string, { signature: string; node: HTMLElement }>;

/**
 * Brings the list's items in line with the notifications shown: gone ones removed, changed ones
 * redrawn, new ones inserted, each with its position in the set.
 */
export function drawItems(
  list: HTMLElement,
  items: ItemNodes,
  shown: readonly FeedNotification[],
  hasMore: boolean,
  root: ShadowRoot,
  draw: (n: FeedNotification) => HTMLElement,
): void {
  const keep = new Set(shown.map((n) => n.id));
  for (const [id, { node }] of items) {
    if (keep.has(id)) continue;
    node.remove();
    items.delete(id);
  }
  // Nodes already in place are not moved, so the focused item keeps its focus.
  shown.forEach((n, index) => {
    const signature = JSON.stringify(n);
    let entry = items.get(n.id);
    if (entry?.signature !== signature) {
      const node = draw(n);
      if (entry) replaceKeepingFocus(root, entry.node, node);
      items.set(n.id, (entry = { signature, node }));
    }
    entry.node.setAttribute('aria-posinset', String(index + 1));
    entry.node.setAttribute('aria-setsize', hasMore ? '-1' : String(shown.length));
    if (list.children[index] !== entry.node) list.insertBefore(entry.node, list.children[index] ?? null);
  });
  if (!list.querySelector('[tabindex="0"]')) list.firstElementChild?.setAttribute('tabindex', '0');
}

/** An item redrawn (read, seen elsewhere…) keeps the focus on the same control. */
function replaceKeepingFocus(root: ShadowRoot, old: HTMLElement, node: HTMLElement): void {
  const active = root.activeElement;
  const controls = (item: HTMLElement) => [item, ...Array.from(item.querySelectorAll<HTMLElement>('button,select'))];
  const at = active && old.contains(active) ? controls(old).indexOf(active as HTMLElement) : -1;
  node.tabIndex = old.tabIndex;
  old.replaceWith(node);
  if (at >= 0) (controls(node)[at] ?? node).focus();
}
