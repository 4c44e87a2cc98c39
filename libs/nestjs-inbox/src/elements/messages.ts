import { ar, de, en, zh } from './messages-languages';

/**
 * The elements' strings, per language (the built-in ones in ./messages-languages). `{name}`
 * placeholders are filled with text (never markup). A language is found by its full tag
 * (`zh-TW`) first, then its base (`zh`), then English.
 */
export interface InboxMessages {
  notifications: string;
  /** The bell's accessible name when something is unseen. */
  bellUnseen: string;
  all: string;
  unread: string;
  archived: string;
  markRead: string;
  markAllRead: string;
  archive: string;
  unarchive: string;
  delete: string;
  snooze: string;
  snoozeHour: string;
  snoozeTomorrow: string;
  snoozeWeek: string;
  actions: string;
  close: string;
  loading: string;
  empty: string;
  offline: string;
  signedOut: string;
  failed: string;
  /** Announced politely when a notification arrives. */
  arrived: string;
  /** A group with one other actor: "Alice and one other". */
  groupOne: string;
  /** "Alice and 3 others". */
  groupMany: string;
  preferences: string;
  types: string;
  topics: string;
  saved: string;
  /** `<inbox-preferences>`: the channels, each a group with its own switch. */
  email: string;
  webPush: string;
  emailOn: string;
  webPushOn: string;
  /** The Web Push subscription of this browser (the `service-worker` attribute). */
  pushHere: string;
  quietHours: string;
  quietOn: string;
  quietFrom: string;
  quietUntil: string;
  timeZone: string;
  /** The server refused (`FORBIDDEN`, the host's `mutable`): "{name}" is the switch's label. */
  refused: string;
  /** The server found the change invalid (`INVALID_INPUT`). */
  rejected: string;
  unavailable: string;
  pushBlocked: string;
  pushUnsupported: string;
  /** `<inbox-toasts>`: the dismiss button's label. */
  dismiss: string;
}

const catalog = new Map<string, Partial<InboxMessages>>([
  ['en', en],
  ['zh', zh],
  ['de', de],
  ['ar', ar],
]);
/** Languages written right to left (by base tag). */
const RTL = new Set(['ar', 'he', 'fa', 'ur', 'ps', 'yi']);

/** Hook for the elements on the page: they re-render when a language is (re)registered. */
export const MESSAGES_CHANGED = 'inbox-messages-changed';

/**
 * Adds or completes a language: `registerInboxMessages('fr', { notifications: 'Notifications', … })`.
 * A key left out falls back to English. Elements already on the page re-render.
 */
export function registerInboxMessages(lang: string, messages: Partial<InboxMessages>): void {
  const tag = lang.toLowerCase();
  catalog.set(tag, { ...catalog.get(tag), ...messages });
  globalThis.dispatchEvent?.(new Event(MESSAGES_CHANGED));
}

/** The strings for `lang`, each key from the most specific language that has it. */
export function messagesFor(lang: string): InboxMessages {
  const tag = lang.toLowerCase();
  return { ...en, ...catalog.get(tag.split('-')[0]), ...catalog.get(tag) };
}

export function isRtl(lang: string): boolean {
  return RTL.has(lang.toLowerCase().split('-')[0]);
}

/** `{name}` placeholders replaced; the result is set as text by the caller. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole));
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 31_536_000],
  ['month', 2_592_000],
  ['week', 604_800],
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
];

/** "3 minutes ago", "vor 3 Minuten", "منذ 3 دقائق": the largest whole unit. */
export function relativeTime(iso: string, lang: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const format = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size || unit === 'second') {
      // Under ten seconds reads as "now" rather than a ticking count.
      return unit === 'second' && Math.abs(seconds) < 10 ? format.format(0, 'second') : format.format(Math.round(seconds / size), unit);
    }
  }
  return '';
}

export function formatNumber(n: number, lang: string): string {
  return new Intl.NumberFormat(lang).format(n);
}
