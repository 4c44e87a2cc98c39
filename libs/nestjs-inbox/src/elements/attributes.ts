import type { InboxActionDetail, InboxOpenDetail } from './inbox-feed';

/** The attributes every element takes. */
export interface InboxElementAttributes {
  /** Origin of the Nest app; default: the page's own. */
  url?: string;
  /** Socket.IO namespace of the gateway; default `/notifications`. */
  namespace?: string;
  /** The scope (tenant) to show, for servers that have scopes. */
  scope?: string;
  /** Language of the element's own words; default: the page's. */
  lang?: string;
  /** Light or dark; default: the page's color scheme. */
  theme?: 'light' | 'dark';
}

export interface InboxFeedAttributes extends InboxElementAttributes {
  /** JSON `{ name: Filter }`; default all, unread and archived. */
  tabs?: string;
}

export interface InboxPreferencesAttributes extends InboxElementAttributes {
  /** JSON: `{ "mention": "Mentions" }` (name → label) or `["mention"]`. */
  types?: string;
  /** JSON, as `types`. */
  topics?: string;
  /** The service worker to register for Web Push (e.g. `/inbox-sw.js`); absent, no Web Push switch. */
  'service-worker'?: string;
}

export interface InboxToastsAttributes extends InboxElementAttributes {
  /** How long a toast stays, in ms (default 6000); held while the pointer or focus is on it. */
  duration?: string | number;
  /** Toasts shown at once (default 3): the oldest goes first. */
  max?: string | number;
}

/** The events the bell and the feed dispatch (bubbling, composed, cancelable). */
export interface InboxElementEvents {
  /** An action button was pressed; `preventDefault()` keeps the browser off the action's `url`. */
  'inbox-action': CustomEvent<InboxActionDetail>;
  /** A notification was opened (click, Enter); `preventDefault()` keeps the browser off its `url`. */
  'inbox-open': CustomEvent<InboxOpenDetail>;
}
