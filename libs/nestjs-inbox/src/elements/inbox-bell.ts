import type { InboxClient } from '../client/inbox-client';
import { deepActive, h, icon, iconButton, tabbables } from './dom';
import { InboxElement } from './inbox-element';
import type { InboxFeedElement } from './inbox-feed';
import { announcedByToasts } from './inbox-toasts';
import { fill, formatNumber } from './messages';

/** Attributes the bell hands to the feed in its popover. */
const PASSED_ON = ['url', 'namespace', 'scope', 'lang', 'tabs', 'theme'];

/**
 * `<inbox-bell>`: a button with the unseen badge whose accessible name says the count. It opens
 * an `<inbox-feed>` in a modal dialog (focus stays inside, Escape closes it, focus returns to the
 * bell) and marks what the feed shows seen. `<template slot="item">` and `<inbox-tab>` children are
 * passed to the feed.
 */
export class InboxBellElement extends InboxElement {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'tabs', 'theme'];
  }

  private button!: HTMLButtonElement;
  private badge!: HTMLElement;
  private dialog!: HTMLDialogElement;
  private feed!: InboxFeedElement;
  private announcer!: HTMLElement;

  /** The feed inside the popover (to set `renderItem` on, for instance). */
  get feedElement(): InboxFeedElement {
    return this.feed;
  }

  get open(): boolean {
    return this.dialog?.open ?? false;
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (this.feed && PASSED_ON.includes(name)) this.pass(name);
    // The feed's own attributes: only passed on, the bell's client stays.
    if (name !== 'tabs' && name !== 'theme') super.attributeChangedCallback(name, old, value);
  }

  /** Opens the popover and marks what it shows seen. */
  show(): void {
    if (!this.dialog || this.dialog.open) return;
    this.dialog.showModal();
    this.button.setAttribute('aria-expanded', 'true');
    this.place();
    this.markSeen();
  }

  close(): void {
    if (this.dialog?.open) this.dialog.close();
  }

  protected listen(client: InboxClient): (() => void)[] {
    this.build();
    // The feed talks to the same client as the bell, even one the host set.
    this.feed.client = client;
    return [
      client.on('unseen', () => this.drawBadge()),
      client.on('notification', (n) => {
        if (this.open) this.markSeen();
        // An <inbox-toasts> on the same client says it already (once is enough).
        else if (!announcedByToasts(client)) this.announce(fill(this.t.arrived, { title: n.title ?? n.body ?? '' }));
      }),
    ];
  }

  protected render(): void {
    if (!this.inbox) return;
    this.build();
    const t = this.t;
    this.dialog.dir = this.direction;
    this.dialog.lang = this.language;
    this.dialog.setAttribute('aria-label', t.notifications);
    const close = this.dialog.querySelector('.close')!;
    close.setAttribute('aria-label', t.close);
    close.setAttribute('title', t.close);
    this.drawBadge();
  }

  private build(): void {
    if (this.button) return;
    this.badge = h('span', { class: 'badge', part: 'badge', 'aria-hidden': 'true' });
    this.button = h(
      'button',
      { type: 'button', class: 'bell', part: 'button', 'aria-haspopup': 'dialog', 'aria-expanded': 'false' },
      icon('bell'),
      this.badge,
    );
    this.button.addEventListener('click', () => this.show());
    this.feed = document.createElement('inbox-feed') as InboxFeedElement;
    this.feed.setAttribute('part', 'feed');
    // Given before the feed is attached, so it never opens a socket of its own.
    this.feed.client = this.inbox;
    for (const name of PASSED_ON) this.pass(name);
    this.passChildren();
    const close = iconButton('close', '', 'close');
    close.classList.add('close');
    close.addEventListener('click', () => this.close());
    this.dialog = h('dialog', { part: 'popover', class: 'popover' }, close, this.feed);
    // A click on the backdrop (the dialog's own box, outside its content) closes it.
    this.dialog.addEventListener('click', (e) => e.target === this.dialog && this.outside(e) && this.close());
    // Focus goes back to the bell however the dialog closed (Escape, the close button, a click outside).
    this.dialog.addEventListener('close', () => {
      this.button.setAttribute('aria-expanded', 'false');
      this.button.focus();
    });
    // A modal dialog keeps focus off the page, but Tab past its end would reach the browser's own
    // controls: it wraps around instead, through the feed's shadow root.
    this.dialog.addEventListener('keydown', (e) => this.trap(e));
    this.announcer = h('div', { class: 'sr-only', 'aria-live': 'polite' });
    this.root.append(this.button, this.dialog, this.announcer);
    addEventListener('resize', () => this.open && this.place());
  }

  /** The host's item template and `<inbox-tab>` children are the feed's (copied as they change). */
  private passChildren(): void {
    const children = Array.from(this.querySelectorAll(':scope > template[slot="item"], :scope > inbox-tab'));
    this.feed.replaceChildren(...children.map((child) => child.cloneNode(true)));
  }

  // A page's parser adds the children after the bell is connected, a framework whenever it likes.
  private readonly children$ = new MutationObserver(() => this.feed && this.passChildren());

  connectedCallback(): void {
    this.children$.observe(this, { childList: true, subtree: true, attributes: true, characterData: true });
    super.connectedCallback();
  }

  disconnectedCallback(): void {
    this.children$.disconnect();
    super.disconnectedCallback();
  }

  private pass(name: string): void {
    const value = name === 'lang' ? this.language : this.getAttribute(name);
    if (value == null) this.feed.removeAttribute(name);
    else this.feed.setAttribute(name, value);
  }

  private drawBadge(): void {
    const unseen = this.inbox?.unseen ?? 0;
    const t = this.t;
    const count = formatNumber(unseen, this.language);
    this.badge.textContent = unseen > 99 ? `${formatNumber(99, this.language)}+` : count;
    this.badge.hidden = unseen === 0;
    this.button.setAttribute('aria-label', unseen > 0 ? fill(t.bellUnseen, { count }) : t.notifications);
    this.button.dataset.unseen = String(unseen);
  }

  /** Marks seen what the feed shows: every unseen notification up to the newest one held. */
  private markSeen(): void {
    const client = this.inbox;
    const newest = client?.notifications[0]?.id;
    if (!client || client.unseen === 0) return;
    const filter = newest ? { state: 'unseen' as const, before: String(BigInt(newest) + 1n) } : { state: 'unseen' as const };
    client.markSeen(filter).catch((err) => console.error('<inbox-bell>: could not mark seen', err));
  }

  /** Below the bell, its end edge aligned with the bell's (the start edge in right-to-left), kept on screen. */
  private place(): void {
    const r = this.button.getBoundingClientRect();
    const width = this.dialog.offsetWidth;
    const left = this.direction === 'rtl' ? r.left : r.right - width;
    const style = this.dialog.style;
    style.top = `${Math.round(r.bottom + 8)}px`;
    style.left = `${Math.round(Math.max(8, Math.min(left, innerWidth - width - 8)))}px`;
    // A modal dialog is centred with both insets set: in right-to-left `left` would then lose to `right`.
    style.right = style.bottom = 'auto';
  }

  private trap(e: KeyboardEvent): void {
    if (e.key !== 'Tab') return;
    const inside = tabbables(this.dialog);
    const at = inside.indexOf(deepActive() as HTMLElement);
    const edge = e.shiftKey ? 0 : inside.length - 1;
    if (at !== edge && at !== -1) return;
    e.preventDefault();
    inside[e.shiftKey ? inside.length - 1 : 0]?.focus();
  }

  private outside(e: MouseEvent): boolean {
    const r = this.dialog.getBoundingClientRect();
    return e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom;
  }

  private announce(text: string): void {
    this.announcer.textContent = '';
    requestAnimationFrame(() => (this.announcer.textContent = text));
  }
}
