import type { InboxClient } from '../client/inbox-client';
import type { Action, Actor, Filter, NotificationPayload } from '../protocol';
import { h, icon, iconButton, safeUrl } from './dom';
import { InboxElement } from './inbox-element';
import { fill, formatNumber, relativeTime } from './messages';
import { groupText, type NotificationGroup } from './notification-group';

/** A notification as the elements read it: the payload, and a group when the server grouped it. */
export type FeedNotification = NotificationPayload & { group?: NotificationGroup | null };

export interface InboxActionDetail {
  notification: FeedNotification;
  action: Action;
}

export interface InboxOpenDetail {
  notification: FeedNotification;
}

/** A custom item renderer: returns what goes in the item's content, in place of title, body and time. */
export type ItemRenderer = (notification: FeedNotification, context: { lang: string; time: string }) => Node | null;

interface Tab {
  name: string;
  label: string;
  filter: Filter;
}

let feeds = 0;
const DEFAULT_TABS: Record<string, Filter> = { all: {}, unread: { state: 'unread' }, archived: { state: 'archived' } };
/** Relative times are redrawn this often while the feed is on the page. */
const CLOCK_MS = 30_000;

/**
 * `<inbox-feed>`: the notification list with tabs and their live counts, unread highlight,
 * groups, actions, mark read / all read, archive, delete, snooze and infinite scroll. Keyboard:
 * arrows between tabs; arrows, Home and End between items, Enter opens one.
 */
export class InboxFeedElement extends InboxElement {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'tabs'];
  }

  /** A feed's view is its client's (`list(filter)`): a feed on its own does not share one. */
  protected readonly owner = `feed-${++feeds}`;

  /** Set to draw each item's content yourself (text only, please: it is your DOM). */
  renderItem: ItemRenderer | null = null;

  private selected = 'all';
  private loaded = false;
  private failure: string | null = null;
  private paging = false;
  private items = new Map<string, { signature: string; node: HTMLElement }>();
  private tabsBar!: HTMLElement;
  private list!: HTMLElement;
  private status!: HTMLElement;
  private announcer!: HTMLElement;
  private sentinel!: HTMLElement;
  private markAll!: HTMLButtonElement;
  private observer: IntersectionObserver | null = null;
  private clock: ReturnType<typeof setInterval> | undefined;
  /** The tabs' views to watch (JSON), those last sent, and whether a watch request is in flight. */
  private wanted = '';
  private watched: string | null = null;
  private watching = false;

  get tabs(): Tab[] {
    const children = Array.from(this.querySelectorAll(':scope > inbox-tab'));
    const t = this.t as unknown as Record<string, string>;
    if (children.length) {
      return children.map((c) => {
        const name = c.getAttribute('name') ?? '';
        return { name, label: c.getAttribute('label') ?? t[name] ?? name, filter: parseFilter(c.getAttribute('filter')) };
      });
    }
    let views = DEFAULT_TABS;
    const json = this.getAttribute('tabs');
    if (json) {
      try {
        views = JSON.parse(json);
      } catch {
        console.error('<inbox-feed>: the tabs attribute is not JSON ({ name: Filter }); showing the default tabs');
      }
    }
    return Object.entries(views).map(([name, filter]) => ({ name, label: t[name] ?? name, filter: { ...filter } }));
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (name !== 'tabs') return super.attributeChangedCallback(name, old, value);
    if (old !== value && this.inbox) this.startView();
  }

  /**
   * `<inbox-tab>` and `<template slot="item">` children: a page's parser adds them after the feed
   * is connected, a framework whenever it likes; the feed redraws with them.
   */
  private readonly children$ = new MutationObserver(() => this.inbox && this.startView());

  connectedCallback(): void {
    this.children$.observe(this, { childList: true, subtree: true, attributes: true, characterData: true });
    super.connectedCallback();
    this.clock = setInterval(() => this.drawTimes(), CLOCK_MS);
    // Moved in the page (a framework re-parenting it): the list is kept, its end watched again.
    if (this.sentinel) this.observer?.observe(this.sentinel);
  }

  disconnectedCallback(): void {
    this.children$.disconnect();
    clearInterval(this.clock);
    this.observer?.disconnect();
    super.disconnectedCallback();
  }

  protected listen(client: InboxClient): (() => void)[] {
    this.loaded = client.state === 'connected';
    this.watched = null;
    // Built before the first render: the listeners below draw into it.
    this.build();
    queueMicrotask(() => this.startView());
    return [
      client.on('change', () => {
        this.loaded = true;
        // A change means the server answers again: an earlier failure's message goes.
        if (client.state === 'connected') this.failure = null;
        this.drawList();
      }),
      client.on('counts', () => this.drawTabs()),
      client.on('state', (_state, error) => {
        // The server refused the connection: signed out, or another refusal (too many connections…).
        if (error) this.failure = error.code === 'UNAUTHORIZED' ? this.t.signedOut : this.t.failed;
        this.drawStatus();
      }),
      client.on('notification', (n) => {
        if (this.isVisible()) this.announce(fill(this.t.arrived, { title: n.title ?? n.body ?? '' }));
      }),
    ];
  }

  /** Watches the tabs' counts and shows the selected tab's view. */
  private startView(): void {
    const client = this.inbox;
    if (!client) return;
    const tabs = this.tabs;
    if (!tabs.some((tab) => tab.name === this.selected)) this.selected = tabs[0]?.name ?? 'all';
    this.watch(JSON.stringify(Object.fromEntries(tabs.map((tab) => [tab.name, tab.filter]))));
    this.show(this.selected);
  }

  /**
   * Watches the tabs' counts, one request at a time: the server keeps the watch that finishes
   * last, so two in flight (tabs parsed or set in quick succession) could leave the older one.
   */
  private watch(views: string): void {
    this.wanted = views;
    if (this.watching) return;
    const client = this.inbox;
    if (!client || this.watched === views) return;
    this.watching = true;
    this.watched = views;
    client
      .watchCounts(JSON.parse(views))
      .catch(this.failed)
      .finally(() => {
        this.watching = false;
        // The latest tabs, on the client in use now (a new one was reset to nothing watched).
        this.watch(this.wanted);
      });
  }

  private show(name: string): void {
    const client = this.inbox;
    const tab = this.tabs.find((t) => t.name === name);
    if (!client || !tab) return;
    this.selected = name;
    if (JSON.stringify(client.view) !== JSON.stringify(tab.filter)) {
      this.loaded = false;
      client.list(tab.filter).then(() => {
        if (this.loaded) return;
        this.loaded = true;
        this.drawList();
      }, this.failed);
    }
    this.render();
  }

  protected render(): void {
    if (!this.inbox) return;
    this.build();
    this.items.clear();
    this.list.replaceChildren();
    this.drawTabs();
    this.drawList();
  }

  private build(): void {
    const t = this.t;
    const wrapper = this.root.querySelector('.feed');
    if (wrapper?.getAttribute('lang') === this.language) return;
    this.tabsBar = h('div', { role: 'tablist', part: 'tabs', 'aria-label': t.notifications });
    this.tabsBar.addEventListener('keydown', (e) => this.tabKeys(e));
    this.markAll = iconButton('check', t.markAllRead, 'mark-all', true);
    this.markAll.addEventListener('click', () => this.inbox?.markAllRead().catch(this.failed));
    this.status = h('p', { class: 'status', part: 'status', role: 'status' });
    this.list = h('div', { role: 'feed', class: 'list', part: 'list', 'aria-label': t.notifications });
    this.list.addEventListener('keydown', (e) => this.itemKeys(e));
    this.sentinel = h('div', { class: 'sentinel', 'aria-hidden': 'true' });
    this.announcer = h('div', { class: 'sr-only', 'aria-live': 'polite' });
    const scroller = h('div', { class: 'scroller', part: 'scroller' }, this.list, this.sentinel);
    const feed = h(
      'section',
      { class: 'feed', part: 'feed', lang: this.language, dir: this.direction, 'aria-label': t.notifications },
      h('div', { class: 'toolbar', part: 'toolbar' }, this.tabsBar, this.markAll),
      this.status,
      scroller,
      this.announcer,
    );
    wrapper?.remove();
    this.root.append(feed);
    this.observer?.disconnect();
    this.observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && this.more(), { root: scroller });
    this.observer.observe(this.sentinel);
  }

  /** Infinite scroll: the next page when the end of the list comes into view. */
  private more(): void {
    const client = this.inbox;
    if (!client || this.paging || !client.hasMore || !this.loaded) return;
    this.paging = true;
    client
      .loadMore()
      .catch(this.failed)
      .finally(() => {
        this.paging = false;
        // Observed again: the callback fires once more if the end is still in view.
        this.observer?.unobserve(this.sentinel);
        this.observer?.observe(this.sentinel);
      });
  }

  private drawTabs(): void {
    const client = this.inbox;
    if (!client || !this.tabsBar) return;
    const counts = client.counts;
    const tabs = this.tabs.map((tab) => {
      const count = counts[tab.name] ?? 0;
      const on = tab.name === this.selected;
      const button = h(
        'button',
        {
          type: 'button',
          role: 'tab',
          part: on ? 'tab tab-selected' : 'tab',
          'aria-selected': String(on),
          tabindex: on ? 0 : -1,
          'data-view': tab.name,
        },
        h('span', {}, tab.label),
        count > 0 && h('span', { class: 'count', part: 'count' }, formatNumber(count, this.language)),
      );
      button.addEventListener('click', () => this.show(tab.name));
      return button;
    });
    const focused = this.root.activeElement?.getAttribute('data-view');
    this.tabsBar.replaceChildren(...tabs);
    if (focused) this.tabsBar.querySelector<HTMLElement>(`[data-view="${CSS.escape(focused)}"]`)?.focus();
    this.markAll.disabled = client.unread === 0;
  }

  private drawList(): void {
    const client = this.inbox;
    if (!client || !this.list) return;
    const shown = client.notifications as readonly FeedNotification[];
    const keep = new Set(shown.map((n) => n.id));
    for (const [id, { node }] of this.items) {
      if (keep.has(id)) continue;
      node.remove();
      this.items.delete(id);
    }
    // Nodes already in place are not moved, so the focused item keeps its focus.
    shown.forEach((n, index) => {
      const signature = JSON.stringify(n);
      let entry = this.items.get(n.id);
      if (entry?.signature !== signature) {
        const node = this.item(n);
        if (entry) this.replaceKeepingFocus(entry.node, node);
        this.items.set(n.id, (entry = { signature, node }));
      }
      entry.node.setAttribute('aria-posinset', String(index + 1));
      entry.node.setAttribute('aria-setsize', client.hasMore ? '-1' : String(shown.length));
      if (this.list.children[index] !== entry.node) this.list.insertBefore(entry.node, this.list.children[index] ?? null);
    });
    if (!this.list.querySelector('[tabindex="0"]')) this.list.firstElementChild?.setAttribute('tabindex', '0');
    this.list.setAttribute('aria-busy', String(!this.loaded || this.paging));
    this.markAll.disabled = client.unread === 0;
    this.drawStatus();
  }

  /** An item redrawn (read, seen elsewhere…) keeps the focus on the same control. */
  private replaceKeepingFocus(old: HTMLElement, node: HTMLElement): void {
    const active = this.root.activeElement;
    const controls = (item: HTMLElement) => [item, ...Array.from(item.querySelectorAll<HTMLElement>('button,select'))];
    const at = active && old.contains(active) ? controls(old).indexOf(active as HTMLElement) : -1;
    node.tabIndex = old.tabIndex;
    old.replaceWith(node);
    if (at >= 0) (controls(node)[at] ?? node).focus();
  }

  private drawStatus(): void {
    const client = this.inbox;
    if (!client || !this.status) return;
    const t = this.t;
    const state = client.state;
    const text =
      this.failure ??
      (state === 'unauthorized'
        ? t.signedOut
        : state === 'disconnected'
          ? t.offline
          : !this.loaded
            ? t.loading
            : client.notifications.length === 0
              ? t.empty
              : '');
    this.status.textContent = text;
    this.status.hidden = !text;
    this.status.dataset.kind = this.failure
      ? 'error'
      : state === 'unauthorized' || state === 'disconnected'
        ? 'offline'
        : !this.loaded
          ? 'loading'
          : 'empty';
  }

  private drawTimes(): void {
    for (const time of Array.from(this.root.querySelectorAll<HTMLTimeElement>('time[datetime]')))
      time.textContent = relativeTime(time.dateTime, this.language);
  }

  private item(n: FeedNotification): HTMLElement {
    const t = this.t;
    const lang = this.language;
    const unread = !n.readAt;
    const titleId = `n${n.id}`;
    const time = h('time', { part: 'time', datetime: n.createdAt }, relativeTime(n.createdAt, lang));
    const custom = this.renderItem?.(n, { lang, time: time.textContent ?? '' }) ?? this.fromTemplate(n, time.textContent ?? '');
    const actions = h('div', { class: 'actions', part: 'actions' });
    for (const action of n.actions ?? []) {
      const button = h('button', { type: 'button', part: 'action' }, action.label);
      button.addEventListener('click', (e) => (e.stopPropagation(), this.act(n, action)));
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
      b.addEventListener('click', (e) => (e.stopPropagation(), run().catch(this.failed)));
      menu.append(b);
    };
    const client = this.inbox!;
    if (unread) button('check', t.markRead, () => client.markRead(n.id));
    if (n.archived) button('unarchive', t.unarchive, () => client.unarchive(n.id));
    else button('archive', t.archive, () => client.archive(n.id));
    button('delete', t.delete, () => client.remove(n.id));
    menu.append(this.snoozer(n));
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
    row.addEventListener('click', () => this.open(n));
    return row;
  }

  /** A `<template slot="item">` child: cloned per item, its `data-field` elements given text. */
  private fromTemplate(n: FeedNotification, time: string): Node | null {
    const template = this.querySelector<HTMLTemplateElement>(':scope > template[slot="item"]');
    if (!template) return null;
    const fragment = template.content.cloneNode(true) as DocumentFragment;
    const fields: Record<string, string> = {
      title: n.title ?? '',
      body: n.body ?? '',
      time,
      type: n.type,
      topic: n.topic ?? '',
      actor: n.actor?.name ?? '',
      group: groupText(n.group, this.t) ?? '',
    };
    for (const el of Array.from(fragment.querySelectorAll<HTMLElement>('[data-field]'))) el.textContent = fields[el.dataset.field!] ?? '';
    return fragment;
  }

  private snoozer(n: FeedNotification): HTMLElement {
    const t = this.t;
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
      if (until) this.inbox?.snooze(n.id, until).catch(this.failed);
    });
    return h('label', { class: 'snooze' }, icon('snooze'), select);
  }

  /** The host hears `inbox-open` first; unless it calls `preventDefault()`, the link is followed. */
  private open(n: FeedNotification): void {
    const followed = this.emit<InboxOpenDetail>('inbox-open', { notification: n });
    const done = n.readAt ? Promise.resolve() : this.inbox?.markRead(n.id).catch(this.failed);
    const url = safeUrl(n.url);
    if (followed && url) void Promise.resolve(done).finally(() => location.assign(url));
  }

  private act(n: FeedNotification, action: Action): void {
    const followed = this.emit<InboxActionDetail>('inbox-action', { notification: n, action });
    const done = this.inbox?.act(n, action).catch(this.failed);
    const url = safeUrl(action.url);
    if (followed && url) void Promise.resolve(done).finally(() => location.assign(url));
  }

  private readonly failed = (err: unknown): void => {
    console.error('<inbox-feed>:', err);
    this.failure = this.t.failed;
    this.drawStatus();
    this.announce(this.t.failed);
  };

  private announce(text: string): void {
    if (!this.announcer) return;
    // Emptied first, so the same words twice are announced twice.
    this.announcer.textContent = '';
    requestAnimationFrame(() => (this.announcer.textContent = text));
  }

  private isVisible(): boolean {
    return this.checkVisibility?.() ?? true;
  }

  private tabKeys(e: KeyboardEvent): void {
    const tabs = Array.from(this.tabsBar.querySelectorAll<HTMLElement>('[role=tab]'));
    const at = tabs.indexOf(this.root.activeElement as HTMLElement);
    const forward = this.direction === 'rtl' ? 'ArrowLeft' : 'ArrowRight';
    const back = this.direction === 'rtl' ? 'ArrowRight' : 'ArrowLeft';
    const to = { [forward]: at + 1, [back]: at - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined || at < 0) return;
    e.preventDefault();
    const tab = tabs[(to + tabs.length) % tabs.length];
    this.show(tab.dataset.view!);
    this.tabsBar.querySelector<HTMLElement>(`[data-view="${CSS.escape(tab.dataset.view!)}"]`)?.focus();
  }

  private itemKeys(e: KeyboardEvent): void {
    const items = Array.from(this.list.children) as HTMLElement[];
    const current = (e.target as HTMLElement).closest('article');
    const at = current ? items.indexOf(current) : -1;
    if (current && e.key === 'Enter' && e.target === current) {
      const n = this.inbox?.notifications.find((x) => x.id === current.dataset.id);
      if (n) this.open(n);
      return;
    }
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, PageDown: at + 1, PageUp: at - 1, Home: 0, End: items.length - 1 }[e.key];
    const next = to === undefined ? undefined : items[Math.max(0, Math.min(items.length - 1, to))];
    if (!next) return;
    e.preventDefault();
    for (const item of items) item.tabIndex = item === next ? 0 : -1;
    next.focus();
  }
}

function parseFilter(json: string | null): Filter {
  try {
    return json ? JSON.parse(json) : {};
  } catch {
    console.error(`<inbox-tab>: the filter attribute is not JSON: ${json}`);
    return {};
  }
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
