/**
 * Typings for Vue 3 (`import type {} from 'nestjs-inbox/elements/vue'`): the elements as global
 * components, so templates get their attributes and events checked by vue-tsc. Vue itself must
 * still be told they are custom elements: `compilerOptions.isCustomElement = (tag) => tag.startsWith('inbox-')`.
 */
import type { DefineComponent } from 'vue';
import type { InboxElementEvents, InboxFeedAttributes, InboxPreferencesAttributes, InboxToastsAttributes } from './attributes';

type Listeners = {
  onInboxAction?: (event: InboxElementEvents['inbox-action']) => void;
  onInboxOpen?: (event: InboxElementEvents['inbox-open']) => void;
};

declare module 'vue' {
  interface GlobalComponents {
    'inbox-bell': DefineComponent<InboxFeedAttributes & Listeners>;
    'inbox-feed': DefineComponent<InboxFeedAttributes & Listeners>;
    'inbox-preferences': DefineComponent<InboxPreferencesAttributes>;
    'inbox-toasts': DefineComponent<InboxToastsAttributes>;
  }
}

export type { InboxFeedAttributes, InboxPreferencesAttributes, InboxToastsAttributes };
