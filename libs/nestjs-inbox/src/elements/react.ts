/**
 * JSX typings for React 19 (`import type {} from 'nestjs-inbox/elements/react'`): the elements'
 * attributes are checked, and `oninbox-action` / `oninbox-open` are typed listeners (React 19
 * adds a listener for an `on…` prop of a custom element under the name after `on`).
 */
import type { DetailedHTMLProps, HTMLAttributes } from 'react';
import type {
  InboxElementAttributes,
  InboxElementEvents,
  InboxFeedAttributes,
  InboxPreferencesAttributes,
  InboxToastsAttributes,
} from './attributes';
import type { InboxBellElement } from './inbox-bell';
import type { InboxFeedElement } from './inbox-feed';
import type { InboxPreferencesElement } from './inbox-preferences';
import type { InboxToastsElement } from './inbox-toasts';

type Listeners = { [K in keyof InboxElementEvents as `on${K}`]?: (event: InboxElementEvents[K]) => void };
type Props<E, A> = Omit<DetailedHTMLProps<HTMLAttributes<E>, E>, keyof A> & A & Listeners;

declare module 'react' {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- React's JSX namespace is augmented this way
  namespace JSX {
    interface IntrinsicElements {
      'inbox-bell': Props<InboxBellElement, InboxFeedAttributes>;
      'inbox-feed': Props<InboxFeedElement, InboxFeedAttributes>;
      'inbox-preferences': Props<InboxPreferencesElement, InboxPreferencesAttributes>;
      'inbox-toasts': Props<InboxToastsElement, InboxToastsAttributes>;
    }
  }
}

export type { InboxElementAttributes };
