// A Vue 3 app using the elements (a runtime-compiled template), bundled by the test with esbuild
// (vue.e2e-spec.ts).
import 'nestjs-inbox/elements';
import type { InboxActionDetail } from 'nestjs-inbox/elements';
import type {} from 'nestjs-inbox/elements/vue';
import { createApp, type GlobalComponents, ref } from 'vue';

/** Where the Nest app is: defined by the bundler. */
declare const INBOX_URL: string;

// The global component typings give templates (vue-tsc) the elements' attributes and events.
const _checked: InstanceType<GlobalComponents['inbox-bell']>['$props'] = { url: INBOX_URL, onInboxAction: (e) => e.detail.action };

const app = createApp({
  setup() {
    const heard = ref('');
    const onAction = (e: CustomEvent<InboxActionDetail>) => (heard.value = `${e.detail.action.event} ${e.detail.notification.title}`);
    return { heard, onAction, url: INBOX_URL };
  },
  template: `<header><inbox-bell :url="url" @inbox-action="onAction"></inbox-bell></header><p id="heard">{{ heard }}</p>`,
});
app.config.compilerOptions.isCustomElement = (tag) => tag.startsWith('inbox-');
app.mount('#root');
