import type { InboxClient } from '../client/inbox-client';
import { h, iconButton } from './dom';
import type { FeedNotification } from './feed-types';
import { InboxElement } from './inbox-element';
import { groupText } from './notification-group';

/** Clients whose arrivals an `<inbox-toasts>` announces: a bell on the same client then keeps quiet. */
const toasting = new WeakMap<InboxClient, number>();

export function announcedByToasts(client: InboxClient): boolean {
  return (toasting.get(client) ?? 0) > 0;
}

const DEFAULT_DURATION_MS = 6000;
const DEFAULT_MAX = 3;

/**
 * `<inbox-toasts>`: each notification that arrives live (not the catch-up of a (re)connect)
 * shown briefly in the page's corner, as text, in a polite live region; dismissable, held while
 * the pointer or focus is on it. Attributes: `duration` (ms, default 6000), `max` shown at once
 * (default 3). It shares the client of the bell and preferences on the page.
 */
export class InboxToastsElement extends InboxElement {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'duration', 'max'];
  }

  private region: HTMLElement | null = null;
  private readonly timers = new Map<HTMLElement, ReturnType<typeof setTimeout>>();
  private held = false;

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (name !== 'duration' && name !== 'max') super.attributeChangedCallback(name, old, value);
  }

  protected listen(client: InboxClient): (() => void)[] {
    toasting.set(client, (toasting.get(client) ?? 0) + 1);
    return [
      client.on('notification', (n) => client.state === 'connected' && this.show(n as FeedNotification)),
      () => toasting.set(client, (toasting.get(client) ?? 1) - 1),
    ];
  }

  protected render(): void {
    const region = (this.region ??= this.build());
    region.lang = this.language;
    region.dir = this.direction;
    region.setAttribute('aria-label', this.t.notifications);
    for (const close of Array.from(region.querySelectorAll('button'))) {
      close.setAttribute('aria-label', this.t.dismiss);
      close.title = this.t.dismiss;
    }
  }

  private build(): HTMLElement {
    // The live region is on the page before anything is put in it, or nothing would be announced.
    const region = h('section', { class: 'toasts', part: 'toasts', 'aria-live': 'polite', 'aria-relevant': 'additions' });
    // Held while read: WCAG's "timing adjustable" (2.2.1) for what goes away by itself.
    const hold = (on: boolean) => {
      this.held = on;
      for (const toast of this.toasts()) (on ? this.stop : this.start)(toast);
    };
    region.addEventListener('mouseenter', () => hold(true));
    region.addEventListener('mouseleave', () => hold(region.contains(this.root.activeElement)));
    region.addEventListener('focusin', () => hold(true));
    region.addEventListener('focusout', (e) => !region.contains(e.relatedTarget as Node | null) && hold(region.matches(':hover')));
    this.root.append(region);
    return region;
  }

  private show(n: FeedNotification): void {
    const region = this.region;
    if (!region) return;
    const t = this.t;
    const close = iconButton('close', t.dismiss, 'dismiss');
    const group = groupText(n.group, t);
    const toast = h(
      'div',
      { class: 'toast', part: 'toast', 'data-id': n.id },
      h(
        'div',
        { class: 'text' },
        group && h('p', { class: 'group', part: 'group' }, group),
        h('p', { class: 'title', part: 'title' }, n.title ?? n.body ?? n.type),
        n.title && n.body ? h('p', { class: 'body', part: 'body' }, n.body) : null,
      ),
      close,
    );
    close.addEventListener('click', () => this.dismiss(toast));
    region.append(toast);
    const max = Math.max(1, Number(this.getAttribute('max')) || DEFAULT_MAX);
    for (const old of this.toasts().slice(0, -max)) this.dismiss(old);
    if (!this.held) this.start(toast);
  }

  private toasts(): HTMLElement[] {
    return Array.from(this.region?.querySelectorAll<HTMLElement>('.toast') ?? []);
  }

  private readonly start = (toast: HTMLElement): void => {
    this.stop(toast);
    const ms = Number(this.getAttribute('duration')) || DEFAULT_DURATION_MS;
    this.timers.set(
      toast,
      setTimeout(() => this.dismiss(toast), ms),
    );
  };

  private readonly stop = (toast: HTMLElement): void => {
    clearTimeout(this.timers.get(toast));
    this.timers.delete(toast);
  };

  private dismiss(toast: HTMLElement): void {
    this.stop(toast);
    const hadFocus = toast.contains(this.root.activeElement);
    toast.remove();
    // Focus does not fall to the page's start: it goes to the next toast's button, if any.
    if (hadFocus) this.toasts()[0]?.querySelector('button')?.focus();
  }
}
