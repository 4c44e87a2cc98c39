import { ClientEvent, type PushSubscriptionJson } from '../protocol';
import type { Connection } from './connection';

/** Web Push on this browser over the connection's `push:*` events (`InboxClient.enablePush`, docs/channels.md). */
export class WebPush {
  private listensToWorker = false;

  /** `shown`: the shipped worker showed this notification; the client marks it seen. */
  constructor(
    private readonly connection: Connection,
    private readonly shown: (id: string) => void,
  ) {}

  async enable(serviceWorker: string): Promise<PushSubscriptionJson> {
    const registration = await navigator.serviceWorker.register(serviceWorker);
    if (!this.listensToWorker) {
      // The shipped worker tells open pages what it showed: marked seen over this socket.
      this.listensToWorker = true;
      navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
        const data = event.data as { type?: unknown; id?: unknown } | null;
        if (data?.type === 'nestjs-inbox:shown' && typeof data.id === 'string') this.shown(data.id);
      });
    }
    const { publicKey } = await this.connection.request(ClientEvent.PushKey, {});
    const key = Uint8Array.from(atob(publicKey.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
    const subscription =
      (await registration.pushManager.getSubscription()) ??
      (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }));
    const json = subscription.toJSON() as PushSubscriptionJson;
    await this.connection.request(ClientEvent.PushSubscribe, json);
    return json;
  }

  async disable(): Promise<void> {
    const registration = await navigator.serviceWorker.getRegistration();
    const subscription = await registration?.pushManager.getSubscription();
    if (!subscription) return;
    await this.connection.request(ClientEvent.PushUnsubscribe, { endpoint: subscription.endpoint });
    await subscription.unsubscribe();
  }
}
