import type { ChannelPreference, QuietHours } from '../protocol';
import { h } from './dom';
import { fill, type InboxMessages } from './messages';

/**
 * The pieces `<inbox-preferences>` draws: switches (a checkbox with the switch role inside its
 * label), groups of them, a channel's group, quiet hours. Each control's label carries a
 * `data-key`, by which the element puts the focus back after a redraw.
 */

type Rows = (HTMLElement | null | undefined | false)[];

export function switchRow(
  key: string,
  label: string,
  on: boolean,
  disabled: boolean,
  change: (on: boolean) => void,
  name?: string,
): HTMLLabelElement {
  const box = h('input', { type: 'checkbox', role: 'switch', part: 'switch', checked: on, disabled });
  box.addEventListener('change', () => change(box.checked));
  return h('label', { class: 'switch', part: 'option', 'data-key': key, 'data-name': name }, box, h('span', {}, label));
}

/** A fieldset with its legend; `null` when it would be empty. */
export function group(legend: string, attrs: Record<string, string>, ...rows: Rows): HTMLFieldSetElement | null {
  const shown = rows.filter((row): row is HTMLElement => !!row);
  if (shown.length === 0) return null;
  return h('fieldset', { part: 'group', ...attrs }, h('legend', { part: 'legend' }, legend), ...shown);
}

/** `{"name":"Label"}` or `["name"]` → name → label; `extra` names (stored, not given by the host) are added as they are. */
export function labels(json: string | null, extra: readonly string[] = [], prefix = ''): Map<string, string> {
  const named = new Map<string, string>();
  if (json) {
    try {
      const value: unknown = JSON.parse(json);
      if (Array.isArray(value)) for (const name of value) named.set(String(name), String(name));
      else for (const [name, label] of Object.entries(value as Record<string, unknown>)) named.set(name, String(label));
    } catch {
      console.error(`<inbox-preferences>: expected JSON, an object of name → label or a list of names: ${json}`);
    }
  }
  for (const name of extra) if (!named.has(name)) named.set(name, `${prefix}${name}`);
  return named;
}

export interface ChannelGroup {
  channel: 'email' | 'webPush';
  stored: ChannelPreference;
  /** The kinds the host names (and those muted on this channel). */
  types: Map<string, string>;
  ready: boolean;
  /** The switch of this browser's Web Push subscription, if any. */
  device?: HTMLElement | null;
  toggle(on: boolean): void;
  toggleType(name: string, label: string, on: boolean): void;
}

/**
 * A channel: on or off altogether, and per kind (the server's `channels.<name>.types` lists the
 * kinds *not* sent on it); the kinds' switches wait while the channel is off.
 */
export function channelGroup(t: InboxMessages, g: ChannelGroup): HTMLFieldSetElement | null {
  const name = g.channel === 'email' ? t.email : t.webPush;
  const on = !g.stored.muted;
  const kinds = [...g.types].map(([type, label]) =>
    switchRow(`${g.channel}:${type}`, label, !g.stored.types.includes(type), !g.ready || !on, (x) => g.toggleType(type, label, x)),
  );
  return group(
    name,
    { 'data-channel': g.channel },
    g.device,
    switchRow(`${g.channel}`, g.channel === 'email' ? t.emailOn : t.webPushOn, on, !g.ready, (x) => g.toggle(x)),
    kinds.length > 0 && h('div', { class: 'kinds' }, ...kinds),
  );
}

export interface QuietGroup {
  /** What the inputs show: the stored hours, or what the user is choosing. */
  draft: QuietHours;
  on: boolean;
  ready: boolean;
  toggle(on: boolean): void;
  change(draft: QuietHours): void;
}

/** The quiet hours: a switch, from and until (`HH:MM`), and the IANA time zone they are in. */
export function quietGroup(t: InboxMessages, q: QuietGroup): HTMLFieldSetElement | null {
  const field = (key: keyof QuietHours, label: string, control: HTMLInputElement | HTMLSelectElement) => {
    control.disabled = !q.ready;
    control.addEventListener('change', () => q.change({ ...q.draft, [key]: control.value }));
    return h('label', { class: 'field', part: 'field', 'data-key': `quiet-${key}` }, h('span', {}, label), control);
  };
  const time = (value: string) => h('input', { type: 'time', part: 'time', value, required: true });
  const zones = timeZones(q.draft.timeZone);
  const zone = h('select', { part: 'time-zone' }, ...zones.map((z) => h('option', { value: z, selected: z === q.draft.timeZone }, z)));
  return group(
    t.quietHours,
    { 'data-group': 'quiet-hours' },
    switchRow('quiet', t.quietOn, q.on, !q.ready, (x) => q.toggle(x)),
    h(
      'div',
      { class: 'fields' },
      field('start', t.quietFrom, time(q.draft.start)),
      field('end', t.quietUntil, time(q.draft.end)),
      field('timeZone', t.timeZone, zone),
    ),
  );
}

/** The browser's own time zone: quiet hours start in it. */
export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** Every IANA zone the browser knows (with `current`, should the list lack it, e.g. `UTC`). */
function timeZones(current: string): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  const all = supported ? supported('timeZone') : [];
  return all.includes(current) ? all : [current, ...all];
}

/** What an error means for the user, in their language, and the server's (or browser's) own words. */
export function problemOf(err: unknown, t: InboxMessages, name: string): { text: string; detail: string } {
  const e = (err ?? {}) as { code?: unknown; name?: unknown; message?: unknown };
  // An InboxError's `code` is the server's (a string); a DOMException's is a legacy number.
  const code = typeof e.code === 'string' ? e.code : null;
  const detail = `${code ?? String(e.name ?? 'Error')}: ${String(e.message ?? err)}`;
  const text =
    code === 'FORBIDDEN'
      ? fill(t.refused, { name })
      : code === 'INVALID_INPUT'
        ? fill(t.rejected, { name })
        : code === 'UNAVAILABLE'
          ? t.unavailable
          : e.name === 'NotAllowedError'
            ? t.pushBlocked
            : t.failed;
  return { text, detail };
}
