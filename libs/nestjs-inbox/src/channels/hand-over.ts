import type { PushSubscriptionRepository } from '../persistence/repositories/push-subscription.repository';
import type { Job } from './channel-job';
import type { EmailSender } from './email/email-sender';
import type { WebPushSender } from './web-push/web-push-sender';

/**
 * Hands one job to its sender: the e-mail's Message-ID, or for a push how many devices took
 * it, or `gone` when every device is gone. Throws what the sender throws (every device failed).
 */
export async function handOver(
  senders: { email?: EmailSender; webPush?: WebPushSender },
  pushSubscriptions: PushSubscriptionRepository,
  job: Job,
): Promise<{ messageId: string | null; reason: string | null } | 'gone'> {
  if (job.channel === 'email') return { messageId: await senders.email!.send({ ...job, to: job.to! }), reason: null };
  const pushed = await senders.webPush!.send(job.subscriptions!, job.items[0]);
  // A device the push service no longer knows (404, 410) is forgotten.
  for (const endpoint of pushed.gone) await pushSubscriptions.unsubscribe(job.userId, endpoint);
  if (pushed.error) throw pushed.error;
  if (pushed.delivered === 0) return 'gone';
  const reason = `${pushed.delivered} of ${job.subscriptions!.length} devices${pushed.gone.length ? `, ${pushed.gone.length} gone` : ''}`;
  return { messageId: null, reason };
}
