import type { InboxClient } from '../client/inbox-client';
import type { Action, Actor } from '../protocol';
import { h, icon, iconButton, safeUrl } from './dom';
import type { FeedNotification, ItemRenderer } from './feed-types';
import { relativeTime, type InboxMessages } from './messages';
import { groupText } from './notification-group';

/** What an item needs from its feed: its words, its client and what its controls do. */
export interface ItemContext {
  t: InboxMessages;
  lang: string;
  client: InboxClient;
  /** The feed element, for its `<template slot="item">` child. */
  feed: HTMLElement;
  renderItem: ItemRenderer | null;
  failed: (err: unknown) => void;
  open: (n: FeedNotification) => void;
  act: (n: FeedNotification, action: Action) => void;
  snooze: (id: string, until: Date) => void;
}

/** One notification's row: avatar, content (custom, templated or title, body and time), actions and menu. */
export function feedItem(n: FeedNotification, ctx: ItemContext): HTMLElement {
  const { t, lang } = ctx;
  const unread = !n.readAt;
  const titleId = `n${n.id}`;
  const time = h('time', { part: 'time', datetime: n.createdAt }, relativeTime(n.createdAt, lang));
  const custom = ctx.renderItem?.(n, { lang, time: time.textContent ?? '' }) ?? fromTemplate(ctx.feed, n, time.textContent ?? '', t);
  const actions = h('div', { class: 'actions', part: 'actions' });
  for (const action of n.actions ?? []) {
    const button = h('button', { type: 'button', part: 'action' }, action.label);
    button.addEventListener('click', (e) => (e.stopPropagation(), ctx.act(n, action)));
    actions.append(button);
  }
  const content =
    custom ??
    h(
      'div',
      { class: 'text' },
      groupText(n.group, t) && h('p', { class: 'group', part: 'group' }, groupText(n.group, t)),
      n.title && h('p', { class: 'title', part: 'title', id: titleId, dir: 'auto' }, n.title),
      n.body && h('p', { class: 'body', part: 'body', dir: 'auto' }, n.body),
      time,
    );
  const menu = h('div', { class: 'menu', part: 'menu', role: 'group', 'aria-label': t.actions });
  const button = (name: Parameters<typeof iconButton>[0], label: string, run: () => Promise<unknown>) => {
    const b = iconButton(name, label, `menu-button ${name}`);
    b.addEventListener('click', (e) => (e.stopPropagation(), run().catch(ctx.failed)));
    menu.append(b);
  };
  const client = ctx.client;
  if (unread) button('check', t.markRead, () => client.markRead(n.id));
  if (n.archived) button('unarchive', t.unarchive, () => client.unarchive(n.id));
  else button('archive', t.archive, () => client.archive(n.id));
  button('delete', t.delete, () => client.remove(n.id));
  menu.append(snoozer(n, ctx));
  const row = h(
    'article',
    {
      class: unread ? 'item unread' : 'item',
      part: unread ? 'item item-unread' : 'item',
      'data-id': n.id,
      tabindex: -1,
      'aria-labelledby': n.title ? titleId : null,
      'aria-label': n.title ? null : (n.body ?? n.type),
    },
    avatar(n.group?.actors?.[0] ?? n.actor),
    h('div', { class: 'content', part: 'content' }, content, actions.childElementCount > 0 && actions),
    menu,
    unread && h('span', { class: 'dot', part: 'unread-dot' }, h('span', { class: 'sr-only' }, t.unread)),
  );
  row.addEventListener('click', () => ctx.open(n));
  return row;
}

/** A `<template slot="item">` child: cloned per item, its `data-field` elements given text. */
function fromTemplate(feed: HTMLElement, n: FeedNotification, time: string, t: InboxMessages): Node | null {
  const template = feed.querySelector<HTMLTemplateElement>(':scope > template[slot="item"]');
  if (!template) return null;
  const fragment = template.content.cloneNode(true) as DocumentFragment;
  const fields: Record<string, string> = {
    title: n.title ?? '',
    body: n.body ?? '',
    time,
    type: n.type,
    topic: n.topic ?? '',
    actor: n.actor?.name ?? '',
    group: groupText(n.group, t) ?? '',
  };
  for (const el of Array.from(fragment.querySelectorAll<HTMLElement>('[data-field]'))) el.textContent = fields[el.dataset.field!] ?? '';
  return fragment;
}

function snoozer(n: FeedNotification, ctx: ItemContext): HTMLElement {
  const t = ctx.t;
  const select = h(
    'select',
    { part: 'snooze', 'aria-label': t.snooze, title: t.snooze },
    h('option', { value: '' }, t.snooze),
    h('option', { value: 'hour' }, t.snoozeHour),
    h('option', { value: 'tomorrow' }, t.snoozeTomorrow),
    h('option', { value: 'week' }, t.snoozeWeek),
  );
  select.addEventListener('click', (e) => e.stopPropagation());
  select.addEventListener('change', () => {
    const until = snoozeUntil(select.value);
    select.value = '';
    if (until) ctx.snooze(n.id, until);
  });
  return h('label', { class: 'snooze' }, icon('snooze'), select);
}

function avatar(actor: Actor | null | undefined): HTMLElement {
  const src = safeUrl(actor?.avatarUrl);
  if (src) return h('img', { class: 'avatar', part: 'avatar', src, alt: '', loading: 'lazy', referrerpolicy: 'no-referrer' });
  const initial = (actor?.name ?? '').trim().charAt(0).toUpperCase();
  return h('span', { class: 'avatar', part: 'avatar', 'aria-hidden': 'true' }, initial || '•');
}

function snoozeUntil(choice: string): Date | null {
  const now = new Date();
  if (choice === 'hour') return new Date(now.getTime() + 3_600_000);
  if (choice === 'week') return new Date(now.getTime() + 7 * 86_400_000);
  if (choice === 'tomorrow') {
    const at = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9);
    return at;
  }
  return null;
}
