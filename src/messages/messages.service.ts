import { Injectable } from '@nestjs/common';
import { NotificationService } from 'nestjs-inbox';
import { avatarUrl } from '../notification-types';

/** Who caused a notification, as the inbox shows them: a name and an avatar on the site's own origin. */
const actor = (name: string) => ({ id: name, name, avatarUrl: avatarUrl(name) });

/** The demo's own feature code: it notifies users the way a host's services do. */
@Injectable()
export class MessagesService {
  constructor(private readonly notifications: NotificationService) {}

  /** `scope`: the workspace it belongs to (absent: site-wide, shown in every workspace). */
  sendMessage(from: string, to: string, text: string, scope?: string) {
    return this.notifications.notify(to, {
      scope,
      type: 'private-message',
      title: `Message from ${from}`,
      body: text,
      data: { from },
      actor: actor(from),
      tags: ['dm'],
      actions: [
        // An event the page handles (it opens the reply form), and a link.
        { label: 'Reply', event: 'reply' },
        { label: 'Open chat', url: `/?to=${encodeURIComponent(from)}` },
      ],
    });
  }

  /**
   * A reply in a thread, to the thread's owner: replies to one thread are one group (docs/groups.md),
   * so the owner's inbox shows one item, "Alice and 2 others" above the latest reply, updated live, until read.
   */
  reply(from: string, to: string, thread: string, text: string, scope?: string) {
    return this.notifications.notify(to, {
      scope,
      type: 'private-message',
      title: `${from} replied in “${thread}”`,
      body: text,
      data: { from, thread },
      actor: actor(from),
      tags: ['thread'],
      group: `thread:${thread}`,
    });
  }

  /**
   * An announcement from a user to everyone in a workspace (or everyone, without one), or a
   * system notice: the site's own, so site-wide, and not the users' to mute.
   */
  announce(from: string, title: string, body?: string, system = false, scope?: string) {
    return this.notifications.broadcast(
      system
        ? { type: 'system', title, body, actor: { name: 'Acme', avatarUrl: avatarUrl('acme') }, tags: ['ops'] }
        : { type: 'announcement', title, body, actor: actor(from), tags: ['news'], scope },
    );
  }

  /** To the topic's subscribers in a workspace (or its site-wide subscribers, without one). */
  publish(from: string, topic: string, title: string, body?: string, scope?: string) {
    return this.notifications.publish(topic, { type: 'publish', title, body, actor: actor(from), tags: [topic], scope });
  }
}
