import { NotificationsConfigError } from '../../notifications.errors';
import type { ChannelItem, ResolvedChannelsOptions } from '../../notifications.feature-options';
import type { PushSubscriptionRow } from '../../persistence/repositories/push-subscription.repository';

interface WebPushModule {
  sendNotification(
    subscription: { endpoint: string; keys: { p256dh: string; auth: string } },
    payload: string,
    options: Record<string, unknown>,
  ): Promise<unknown>;
}

/** Loads `web-push`, only when the `channels.webPush` option is set. */
export async function loadWebPush(load: () => Promise<unknown> = () => import('web-push')): Promise<WebPushModule> {
  try {
    const mod = (await load()) as WebPushModule & { default?: WebPushModule };
    return typeof mod.sendNotification === 'function' ? mod : mod.default!;
  } catch (err) {
    if (!/Cannot find (?:module|package) 'web-push'/.test((err as Error).message)) throw err;
    throw new NotificationsConfigError(
      "the `channels.webPush` option needs the package 'web-push', which is not installed: npm install web-push",
    );
  }
}

/** Longest body a push carries: push services take about 4 KB of payload. */
const MAX_PUSH_BODY = 1000;

/** What one push to a user's devices did. */
export interface PushOutcome {
  delivered: number;
  /** Endpoints the push service says are gone (404, 410): to delete. */
  gone: string[];
  /** The first other failure, when no device got it. */
  error?: Error;
}

/** The Web Push channel's sender: one encrypted push (aes128gcm, VAPID) per subscription of the user. */
export class WebPushSender {
  private constructor(
    private readonly options: NonNullable<ResolvedChannelsOptions['webPush']>,
    private readonly webPush: WebPushModule,
  ) {}

  static async create(options: NonNullable<ResolvedChannelsOptions['webPush']>): Promise<WebPushSender> {
    return new WebPushSender(options, await loadWebPush());
  }

  async send(subscriptions: PushSubscriptionRow[], item: ChannelItem): Promise<PushOutcome> {
    // What the shipped service worker shows: text only, a link to open, the id to mark it seen.
    const payload = JSON.stringify({
      id: item.id,
      type: item.type,
      title: item.title,
      body: item.body && item.body.length > MAX_PUSH_BODY ? `${item.body.slice(0, MAX_PUSH_BODY)}…` : item.body,
      url: item.url,
      scope: item.scope,
    });
    const outcome: PushOutcome = { delivered: 0, gone: [] };
    const errors: Error[] = [];
    for (const sub of subscriptions) {
      try {
        await this.webPush.sendNotification({ endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } }, payload, {
          vapidDetails: this.options.vapid,
          TTL: this.options.ttl,
          urgency: this.options.urgency,
          contentEncoding: 'aes128gcm',
        });
        outcome.delivered++;
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status === 404 || status === 410) outcome.gone.push(sub.endpoint);
        else errors.push(err as Error);
      }
    }
    if (outcome.delivered === 0 && errors.length > 0) outcome.error = errors[0];
    return outcome;
  }
}
