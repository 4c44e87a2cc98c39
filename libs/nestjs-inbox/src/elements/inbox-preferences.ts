import type { InboxClient } from '../client/inbox-client';
import type { Channel, PreferencesAnswer, PreferencesUpdate, QuietHours } from '../protocol';
import { h } from './dom';
import { InboxElement } from './inbox-element';
import { browserTimeZone, channelGroup, group, labels, problemOf, quietGroup, switchRow } from './preferences-form';

const pushSupported = () => typeof navigator !== 'undefined' && 'serviceWorker' in navigator && 'PushManager' in globalThis;

/**
 * `<inbox-preferences>`: switches for what the user receives, each saved as it changes. Kinds
 * and topics the host names (`types='{"mention":"Mentions"}'`, `topics='["releases"]'`; what the
 * user muted elsewhere is listed too); then, for each channel the server sends on (it says which),
 * the channel and the kinds on it; quiet hours; and with `service-worker="/inbox-sw.js"`, Web Push
 * on this browser. What the server refuses (the host's `mutable`, bad input) is said, by name,
 * and the switch shows what is stored.
 */
export class InboxPreferencesElement extends InboxElement {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'types', 'topics', 'service-worker'];
  }

  private preferences: PreferencesAnswer | null = null;
  private state: 'loading' | 'saved' | 'failed' | null = 'loading';
  private problem: { text: string; detail: string } | null = null;
  /** The quiet hours the inputs show: the stored ones, else 22:00 to 07:00 in the browser's zone. */
  private quiet: QuietHours = { start: '22:00', end: '07:00', timeZone: browserTimeZone() };
  /** Whether this browser has a push subscription; `null` while not known. */
  private pushHere: boolean | null = null;
  /** Changes go to the server one after the other, each computed from the answer before it. */
  private queue: Promise<void> = Promise.resolve();
  /** Changes not yet answered: the form is `aria-busy` meanwhile. */
  private pending = 0;
  private status: HTMLElement | null = null;

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (name === 'types' || name === 'topics' || name === 'service-worker') this.render();
    else super.attributeChangedCallback(name, old, value);
  }

  protected listen(client: InboxClient): (() => void)[] {
    const load = () =>
      client.getPreferences().then(
        (p) => {
          this.stored(p);
          this.state = null;
          this.render();
        },
        (err) => this.failed(err, this.t.preferences),
      );
    if (client.state === 'connected') void load();
    void this.readPush();
    // (Re)loaded on every connection: another device may have changed them meanwhile.
    return [client.on('state', (state) => state === 'connected' && void load())];
  }

  protected render(): void {
    const t = this.t;
    const p = this.preferences;
    const ready = !!p;
    const muted = p?.muted ?? { types: [], topics: [] };
    const inApp = (kind: 'types' | 'topics', legend: string) => {
      const named = labels(this.getAttribute(kind), muted[kind], kind === 'topics' ? '#' : '');
      const rows = [...named].map(([name, label]) =>
        switchRow(`${kind}:${name}`, label, !muted[kind].includes(name), !ready, (on) => this.mute(kind, name, label, !on), name),
      );
      return group(legend, {}, ...rows);
    };
    const channels = p?.availableChannels ?? [];
    const form = h(
      'form',
      {
        class: 'preferences',
        part: 'preferences',
        lang: this.language,
        dir: this.direction,
        'aria-label': t.preferences,
        'aria-busy': String(this.pending > 0),
      },
      h('h2', { part: 'heading' }, t.preferences),
      inApp('types', t.types),
      inApp('topics', t.topics),
      ...channels.map((channel) => this.channel(channel, ready)),
      channels.length > 0 &&
        quietGroup(t, {
          draft: this.quiet,
          on: !!p?.quietHours,
          ready,
          toggle: (on) => this.save(t.quietHours, () => ({ quietHours: on ? { ...this.quiet } : null })),
          change: (draft) => {
            this.quiet = draft;
            if (this.preferences?.quietHours) this.save(t.quietHours, () => ({ quietHours: { ...draft } }));
          },
        }),
    );
    form.addEventListener('submit', (e) => e.preventDefault());
    // Focus stays on the control it was on, in the new form.
    const focused = this.root.activeElement?.closest('[data-key]')?.getAttribute('data-key');
    this.root.querySelector('form')?.remove();
    this.root.prepend(form);
    this.drawStatus();
    if (focused) form.querySelector<HTMLElement>(`[data-key="${CSS.escape(focused)}"] :is(input, select)`)?.focus();
  }

  /** The status line, one live region for the element's life (a new one would not be announced). */
  private drawStatus(): void {
    const t = this.t;
    const status = (this.status ??= h('p', { class: 'status', part: 'status', role: 'status' }));
    if (!status.isConnected) this.root.append(status);
    status.lang = this.language;
    status.dir = this.direction;
    status.dataset.kind = this.problem ? 'error' : (this.state ?? '');
    const text = { loading: t.loading, saved: t.saved, failed: t.failed }[this.state ?? 'saved'];
    const problem = this.problem;
    status.replaceChildren(
      ...(problem
        ? // The server's (or browser's) own words, in English, after the user's language.
          [problem.text, ' ', h('span', { class: 'detail', part: 'error-detail', lang: 'en', dir: 'ltr' }, problem.detail)]
        : [this.state ? text : '']),
    );
  }

  private channel(channel: Channel, ready: boolean): HTMLFieldSetElement | null {
    const t = this.t;
    const stored = this.preferences?.channels[channel] ?? { muted: false, types: [] };
    const name = channel === 'email' ? t.email : t.webPush;
    const sw = this.getAttribute('service-worker');
    const device =
      channel === 'webPush' && sw
        ? pushSupported()
          ? switchRow('push-here', t.pushHere, !!this.pushHere, !ready || this.pushHere === null, (on) => this.push(sw, on))
          : h('p', { class: 'hint', part: 'hint' }, t.pushUnsupported)
        : null;
    return channelGroup(t, {
      channel,
      stored,
      types: labels(this.getAttribute('types'), stored.types),
      ready,
      device,
      toggle: (on) => this.save(name, (p) => ({ channels: { [channel]: { ...this.onChannel(p, channel), muted: !on } } })),
      toggleType: (type, label, on) =>
        this.save(`${label} (${name})`, (p) => {
          const current = this.onChannel(p, channel);
          const types = current.types.filter((x) => x !== type);
          if (!on) types.push(type);
          return { channels: { [channel]: { ...current, types } } };
        }),
    });
  }

  /** A channel's stored choice, whole: the server replaces a channel given as a whole. */
  private onChannel(p: PreferencesAnswer, channel: Channel): { muted: boolean; types: string[] } {
    const stored = p.channels[channel];
    return { muted: stored?.muted ?? false, types: [...(stored?.types ?? [])] };
  }

  private mute(kind: 'types' | 'topics', name: string, label: string, mute: boolean): void {
    this.save(label, (p) => {
      const list = p.muted[kind].filter((x) => x !== name);
      if (mute) list.push(name);
      return { muted: { [kind]: list } };
    });
  }

  /** Sends a change made from the preferences as last stored; redraws with the answer, or says why not. */
  private save(name: string, change: (p: PreferencesAnswer) => PreferencesUpdate): void {
    this.run(name, async (client) => {
      if (this.preferences) this.stored(await client.setPreferences(change(this.preferences)));
    });
  }

  /** Web Push on this browser: subscribes (asking the user's permission) or unsubscribes. */
  private push(serviceWorker: string, on: boolean): void {
    this.run(this.t.pushHere, async (client) => {
      try {
        if (on) await client.enablePush({ serviceWorker });
        else await client.disablePush();
      } finally {
        await this.readPush();
      }
    });
  }

  private run(name: string, change: (client: InboxClient) => Promise<void>): void {
    this.busy(+1);
    this.queue = this.queue.then(async () => {
      const client = this.inbox;
      try {
        if (!client) return;
        await change(client);
        this.state = 'saved';
        this.problem = null;
      } catch (err) {
        this.problem = problemOf(err, this.t, name);
        this.state = 'failed';
        console.error('<inbox-preferences>:', err);
      } finally {
        this.busy(-1);
      }
      // Redrawn from what is stored: a refused switch goes back.
      this.render();
    });
  }

  private busy(change: number): void {
    this.pending += change;
    this.root.querySelector('form')?.setAttribute('aria-busy', String(this.pending > 0));
  }

  private stored(p: PreferencesAnswer): void {
    this.preferences = p;
    if (p.quietHours) this.quiet = { ...p.quietHours };
  }

  private failed(err: unknown, name: string): void {
    console.error('<inbox-preferences>:', err);
    this.state = 'failed';
    this.problem = problemOf(err, this.t, name);
    // Redrawn from what is stored: a refused switch goes back.
    this.render();
  }

  private async readPush(): Promise<void> {
    if (!pushSupported()) return;
    const registration = await navigator.serviceWorker.getRegistration().catch(() => undefined);
    this.pushHere = !!(await registration?.pushManager.getSubscription().catch(() => null));
    this.render();
  }
}
