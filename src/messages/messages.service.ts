import { Injectable } from '@nestjs/common';
import { NotificationService } from 'nestjs-inbox';

/** The demo's own feature code: it notifies users the way a host's services do. */
@Injectable()
export class MessagesService {
  constructor(private readonly notifications: NotificationService) {}

  sendMessage(from: string, to: string, text: string) {
    return this.notifications.notify(to, {
      type: 'private-message',
      title: `Message from ${from}`,
      body: text,
      data: { from },
    });
  }

  announce(title: string, body?: string) {
    return this.notifications.broadcast({ type: 'announcement', title, body });
  }

  publish(topic: string, title: string, body?: string) {
    return this.notifications.publish(topic, { type: 'publish', title, body });
  }
}
