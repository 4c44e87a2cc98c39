/**
 * `nestjs-inbox/elements`: `<inbox-bell>`, `<inbox-feed>` and `<inbox-preferences>` on the
 * browser client, defined on import. Plain custom elements in open shadow DOM, no framework.
 */
import type { InboxElementEvents } from './attributes';
import { InboxBellElement } from './inbox-bell';
import { InboxFeedElement } from './inbox-feed';
import { InboxPreferencesElement } from './inbox-preferences';
import { InboxToastsElement } from './inbox-toasts';

export { InboxBellElement, InboxFeedElement, InboxPreferencesElement, InboxToastsElement };
export { InboxElement } from './inbox-element';
export { groupText } from './notification-group';
export type { FeedNotification, InboxActionDetail, InboxOpenDetail, ItemRenderer } from './inbox-feed';
export type { NotificationGroup } from './notification-group';
export type {
  InboxElementAttributes,
  InboxElementEvents,
  InboxFeedAttributes,
  InboxPreferencesAttributes,
  InboxToastsAttributes,
} from './attributes';
export { registerInboxMessages } from './messages';
export type { InboxMessages } from './messages';

/** Defines the elements under their names (once; a second copy of the bundle leaves them be). */
export function defineInboxElements(): void {
  const define = (name: string, element: CustomElementConstructor) => customElements.get(name) || customElements.define(name, element);
  // The feed first: the bell's popover holds one.
  define('inbox-feed', InboxFeedElement);
  define('inbox-bell', InboxBellElement);
  define('inbox-preferences', InboxPreferencesElement);
  define('inbox-toasts', InboxToastsElement);
}

if (typeof customElements !== 'undefined') defineInboxElements();

declare global {
  interface HTMLElementTagNameMap {
    'inbox-bell': InboxBellElement;
    'inbox-feed': InboxFeedElement;
    'inbox-preferences': InboxPreferencesElement;
    'inbox-toasts': InboxToastsElement;
  }
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- adds the elements' events to addEventListener's map
  interface HTMLElementEventMap extends InboxElementEvents {}
}
