import type { EntityManager } from 'typeorm';
import type { ChannelSendRepository, ClaimedSend } from '../persistence/repositories/channel-send.repository';

/** Most notifications in one digest e-mail. */
const MAX_DIGEST = 100;

/** Each send alone, or with a digest, every send of its inbox due by now in one. */
export async function sendGroups(
  sends: ChannelSendRepository,
  tx: EntityManager,
  due: ClaimedSend[],
  digest: boolean,
): Promise<ClaimedSend[][]> {
  if (!digest) return due.map((d) => [d]);
  const byInbox = new Map<string, ClaimedSend[]>();
  const alone: ClaimedSend[][] = [];
  for (const d of due) {
    // A digest is of e-mails: a push is always one notification.
    if (d.channel !== 'email') {
      alone.push([d]);
      continue;
    }
    const key = `${d.user_id}\u0000${d.scope}\u0000${d.channel}`;
    byInbox.set(key, [...(byInbox.get(key) ?? []), d]);
  }
  const groups: ClaimedSend[][] = alone;
  for (const group of byInbox.values()) {
    const more = await sends.claimInbox(
      tx,
      group[0],
      group.map((g) => g.notification_id),
      Math.max(MAX_DIGEST - group.length, 0),
    );
    groups.push([...group, ...more].slice(0, MAX_DIGEST));
  }
  return groups;
}
