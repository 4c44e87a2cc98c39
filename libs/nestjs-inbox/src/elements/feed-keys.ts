/**
 * The feed's keyboard: arrows (by reading direction), Home and End between tabs; arrows, Home and
 * End between items, Enter opens one.
 */

/** The tab a key moves to, or null when the key does not move between tabs. */
export function tabForKey(e: KeyboardEvent, tabsBar: HTMLElement, active: Element | null, direction: 'rtl' | 'ltr'): HTMLElement | null {
  const tabs = Array.from(tabsBar.querySelectorAll<HTMLElement>('[role=tab]'));
  const at = tabs.indexOf(active as HTMLElement);
  const forward = direction === 'rtl' ? 'ArrowLeft' : 'ArrowRight';
  const back = direction === 'rtl' ? 'ArrowRight' : 'ArrowLeft';
  const to = { [forward]: at + 1, [back]: at - 1, Home: 0, End: tabs.length - 1 }[e.key];
  if (to === undefined || at < 0) return null;
  e.preventDefault();
  return tabs[(to + tabs.length) % tabs.length];
}

/** Moves the focus between the list's items, or opens the focused one (by its `data-id`) on Enter. */
export function itemKeys(e: KeyboardEvent, list: HTMLElement, open: (id: string | undefined) => void): void {
  const items = Array.from(list.children) as HTMLElement[];
  const current = (e.target as HTMLElement).closest('article');
  const at = current ? items.indexOf(current) : -1;
  if (current && e.key === 'Enter' && e.target === current) {
    open(current.dataset.id);
    return;
  }
  const to = { ArrowDown: at + 1, ArrowUp: at - 1, PageDown: at + 1, PageUp: at - 1, Home: 0, End: items.length - 1 }[e.key];
  const next = to === undefined ? undefined : items[Math.max(0, Math.min(items.length - 1, to))];
  if (!next) return;
  e.preventDefault();
  for (const item of items) item.tabIndex = item === next ? 0 : -1;
  next.focus();
}
