import { h, iconButton } from './dom';
import type { InboxMessages } from './messages';

/** The feed's parts, built once per language; the feed adds their listeners. */
export interface FeedLayout {
  feed: HTMLElement;
  tabsBar: HTMLElement;
  markAll: HTMLButtonElement;
  status: HTMLElement;
  list: HTMLElement;
  sentinel: HTMLElement;
  announcer: HTMLElement;
  scroller: HTMLElement;
}

/** The feed's skeleton: toolbar (tabs, mark all read), status line, scrolling list and its end, announcer. */
export function feedLayout(t: InboxMessages, lang: string, dir: 'rtl' | 'ltr'): FeedLayout {
  const tabsBar = h('div', { role: 'tablist', part: 'tabs', 'aria-label': t.notifications });
  const markAll = iconButton('check', t.markAllRead, 'mark-all', true);
  const status = h('p', { class: 'status', part: 'status', role: 'status' });
  const list = h('div', { role: 'feed', class: 'list', part: 'list', 'aria-label': t.notifications });
  const sentinel = h('div', { class: 'sentinel', 'aria-hidden': 'true' });
  const announcer = h('div', { class: 'sr-only', 'aria-live': 'polite' });
  const scroller = h('div', { class: 'scroller', part: 'scroller' }, list, sentinel);
  const feed = h(
    'section',
    { class: 'feed', part: 'feed', lang, dir, 'aria-label': t.notifications },
    h('div', { class: 'toolbar', part: 'toolbar' }, tabsBar, markAll),
    status,
    scroller,
    announcer,
  );
  return { feed, tabsBar, markAll, status, list, sentinel, announcer, scroller };
}
