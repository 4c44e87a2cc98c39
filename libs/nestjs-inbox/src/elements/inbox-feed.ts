import type { InboxClient } from '../client/inbox-client';
import type { Action } from '../protocol';
import { safeUrl } from './dom';
import { feedItem } from './feed-item';
import { itemKeys, tabForKey } from './feed-keys';
import { feedLayout } from './feed-layout';
import { drawItems, type ItemNodes } from './feed-list';
import { feedStatus } from './feed-status';
import { readTabs, tabButtons, type Tab } from './feed-tabs';
import type { FeedNotification, InboxActionDetail, InboxOpenDetail, ItemRenderer } from './feed-types';
import { InboxElement } from './inbox-element';
import { fill, relativeTime } from './messages';

export type { FeedNotification, InboxActionDetail, InboxOpenDetail, ItemRenderer } from './feed-types';

let feeds = 0;
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
  private items: ItemNodes = new Map();
  private tabsBar!: HTMLElement;
  private list!: HTMLElement;
  private status!: HTMLElement;
  private announcer!: HTMLElement;
  private sentinel!: HTMLElement;
  private markAll!: HTMLButtonElement;
  private observer: IntersectionObserver | null = null;
  private clock: ReturnType<typeof setInterval> | undefined;
  /** The tabs' views last asked to watch (JSON), on the client in use. */
  private watched: string | null = null;

  get tabs(): Tab[] {
    return readTabs(this, this.t);
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
   * Watches the tabs' counts unless these views are watched already. Two requests in flight
   * (tabs parsed or set in quick succession) are fine: the server keeps the later one, and the
   * client drops the earlier one's answer.
   */
  private watch(views: string): void {
    const client = this.inbox;
    if (!client || this.watched === views) return;
    this.watched = views;
    client.watchCounts(JSON.parse(views)).catch((err) => {
      // Asked again at the next redraw of the tabs.
      if (this.watched === views) this.watched = null;
      this.failed(err);
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
    const wrapper = this.root.querySelector('.feed');
    if (wrapper?.getAttribute('lang') === this.language) return;
    const layout = feedLayout(this.t, this.language, this.direction);
    ({ tabsBar: this.tabsBar, markAll: this.markAll, status: this.status, list: this.list } = layout);
    ({ sentinel: this.sentinel, announcer: this.announcer } = layout);
    this.tabsBar.addEventListener('keydown', (e) => this.tabKeys(e));
    this.markAll.addEventListener('click', () => this.inbox?.markAllRead().catch(this.failed));
    this.list.addEventListener('keydown', (e) => this.itemKeys(e));
    wrapper?.remove();
    this.root.append(layout.feed);
    this.observer?.disconnect();
    this.observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && this.more(), {
      root: layout.scroller,
    });
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
    const tabs = tabButtons(this.tabs, client.counts, this.selected, this.language, (name) => this.show(name));
    const focused = this.root.activeElement?.getAttribute('data-view');
    this.tabsBar.replaceChildren(...tabs);
    if (focused) this.tabsBar.querySelector<HTMLElement>(`[data-view="${CSS.escape(focused)}"]`)?.focus();
    this.markAll.disabled = client.unread === 0;
  }

  private drawList(): void {
    const client = this.inbox;
    if (!client || !this.list) return;
    const shown = client.notifications as readonly FeedNotification[];
    drawItems(this.list, this.items, shown, client.hasMore, this.root, (n) => this.item(n));
    this.list.setAttribute('aria-busy', String(!this.loaded || this.paging));
    this.markAll.disabled = client.unread === 0;
    this.drawStatus();
  }

  private drawStatus(): void {
    const client = this.inbox;
    if (!client || !this.status) return;
    const { text, kind } = feedStatus(this.t, this.failure, client.state, this.loaded, client.notifications.length === 0);
    this.status.textContent = text;
    this.status.hidden = !text;
    this.status.dataset.kind = kind;
  }

  private drawTimes(): void {
    for (const time of Array.from(this.root.querySelectorAll<HTMLTimeElement>('time[datetime]')))
      time.textContent = relativeTime(time.dateTime, this.language);
  }

  private item(n: FeedNotification): HTMLElement {
    return feedItem(n, {
      t: this.t,
      lang: this.language,
      client: this.inbox!,
      feed: this,
      renderItem: this.renderItem,
      failed: this.failed,
      open: (x) => this.open(x),
      act: (x, action) => this.act(x, action),
      snooze: (id, until) => void this.inbox?.snooze(id, until).catch(this.failed),
    });
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
    const tab = tabForKey(e, this.tabsBar, this.root.activeElement, this.direction);
    if (!tab) return;
    this.show(tab.dataset.view!);
    this.tabsBar.querySelector<HTMLElement>(`[data-view="${CSS.escape(tab.dataset.view!)}"]`)?.focus();
  }

  private itemKeys(e: KeyboardEvent): void {
    itemKeys(e, this.list, (id) => {
      const n = this.inbox?.notifications.find((x) => x.id === id);
      if (n) this.open(n);
    });
  }
}
