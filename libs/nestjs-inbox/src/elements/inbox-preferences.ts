import type { InboxClient } from '../client/inbox-client';
import type { Preferences } from '../protocol';
import { h } from './dom';
import { InboxElement } from './inbox-element';

/**
 * `<inbox-preferences>`: a switch per kind of notification and per topic, on when the user
 * receives it. The host names them: `types='{"mention":"Mentions"}'` and `topics='["releases"]'`
 * (JSON: an object of name → label, or a list of names); what the user muted elsewhere is listed
 * too. A kind the server does not let users mute comes back refused, and the switch with it.
 */
export class InboxPreferencesElement extends InboxElement {
  static get observedAttributes(): string[] {
    return [...super.observedAttributes, 'types', 'topics'];
  }

  private preferences: Preferences | null = null;
  private state: 'loading' | 'saved' | 'failed' | null = 'loading';

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (name === 'types' || name === 'topics') this.render();
    else super.attributeChangedCallback(name, old, value);
  }

  protected listen(client: InboxClient): (() => void)[] {
    const load = () =>
      client.getPreferences().then(
        (p) => ((this.preferences = p), (this.state = null), this.render()),
        () => ((this.state = 'failed'), this.render()),
      );
    if (client.state === 'connected') void load();
    // (Re)loaded on every connection: another device may have changed them meanwhile.
    return [client.on('state', (state) => state === 'connected' && void load())];
  }

  protected render(): void {
    const t = this.t;
    const muted = this.preferences?.muted ?? { types: [], topics: [] };
    const group = (kind: 'types' | 'topics', legend: string) => {
      const named = labels(this.getAttribute(kind));
      for (const name of muted[kind]) if (!named.has(name)) named.set(name, kind === 'topics' ? `#${name}` : name);
      if (named.size === 0) return null;
      return h(
        'fieldset',
        { part: 'group' },
        h('legend', { part: 'legend' }, legend),
        ...[...named].map(([name, label]) => {
          const box = h('input', {
            type: 'checkbox',
            role: 'switch',
            part: 'switch',
            checked: !muted[kind].includes(name),
            disabled: !this.preferences,
          });
          box.addEventListener('change', () => this.save(kind, name, !box.checked));
          return h('label', { class: 'switch', part: 'option', 'data-name': name }, box, h('span', {}, label));
        }),
      );
    };
    const status = { loading: t.loading, saved: t.saved, failed: t.failed }[this.state ?? 'saved'];
    const form = h(
      'form',
      { class: 'preferences', part: 'preferences', lang: this.language, dir: this.direction, 'aria-label': t.preferences },
      h('h2', { part: 'heading' }, t.preferences),
      group('types', t.types),
      group('topics', t.topics),
      h('p', { class: 'status', part: 'status', role: 'status', 'data-kind': this.state ?? '' }, this.state ? status : ''),
    );
    form.addEventListener('submit', (e) => e.preventDefault());
    this.root.querySelector('form')?.remove();
    this.root.append(form);
  }

  private async save(kind: 'types' | 'topics', name: string, mute: boolean): Promise<void> {
    const client = this.inbox;
    if (!client || !this.preferences) return;
    const list = this.preferences.muted[kind].filter((x) => x !== name);
    if (mute) list.push(name);
    try {
      this.preferences = await client.setPreferences({ muted: { [kind]: list } });
      this.state = 'saved';
    } catch (err) {
      console.error('<inbox-preferences>:', err);
      this.state = 'failed';
    }
    this.render();
    this.root.querySelector<HTMLElement>(`[data-name="${CSS.escape(name)}"] input`)?.focus();
  }
}

/** `{"name":"Label"}` or `["name"]` → name → label. */
function labels(json: string | null): Map<string, string> {
  if (!json) return new Map();
  try {
    const value: unknown = JSON.parse(json);
    if (Array.isArray(value)) return new Map(value.map((name) => [String(name), String(name)]));
    return new Map(Object.entries(value as Record<string, unknown>).map(([name, label]) => [name, String(label)]));
  } catch {
    console.error(`<inbox-preferences>: expected JSON, an object of name → label or a list of names: ${json}`);
    return new Map();
  }
}
