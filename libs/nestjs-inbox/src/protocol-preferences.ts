/** What a user may choose (muted types and topics, channels, quiet hours), on the wire and in the service. */

/** The channels a notification may also go out on (docs/channels.md). */
export const CHANNELS = ['email', 'webPush'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Longest delay a notification's `channels.<name>.after` (or the module's) may ask: 30 days. */
export const MAX_CHANNEL_AFTER_MS = 30 * 24 * 3600 * 1000;

/** A browser's Web Push subscription, as `PushSubscription.toJSON()` gives it (`push:subscribe`). */
export interface PushSubscriptionJson {
  endpoint: string;
  expirationTime?: number | null;
  keys: { p256dh: string; auth: string };
}

/** Most Web Push subscriptions (browsers, devices) one user may hold. */
export const MAX_PUSH_SUBSCRIPTIONS = 20;

/** An inbox's choice for one channel: off altogether (`muted`), or off for some `types`. */
export interface ChannelPreference {
  muted: boolean;
  types: string[];
}

/** Hours, in the user's IANA time zone, during which sends wait (`'22:00'` to `'07:00'` spans midnight). */
export interface QuietHours {
  start: string;
  end: string;
  timeZone: string;
}

/**
 * What a user has muted: not delivered live, not counted as unread, still listed. `channels`
 * and `quietHours`: what goes out on other channels (docs/channels.md).
 */
export interface Preferences {
  muted: { types: string[]; topics: string[] };
  channels: Partial<Record<Channel, ChannelPreference>>;
  quietHours: QuietHours | null;
}

/**
 * What `preferences:get` and `preferences:set` answer over the socket: the preferences, and the
 * channels this server sends on (those its `channels` option configures), so a settings page
 * shows only those. `[]` without channels.
 */
export interface PreferencesAnswer extends Preferences {
  availableChannels: Channel[];
}

/**
 * What `preferences:set` and `setPreferences` take: a part left out stays as it was;
 * `quietHours: null` ends quiet hours.
 */
export interface PreferencesUpdate {
  muted?: { types?: string[]; topics?: string[] };
  channels?: Partial<Record<Channel, { muted?: boolean; types?: string[] }>>;
  quietHours?: QuietHours | null;
}
