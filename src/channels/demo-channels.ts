import { Logger, Module } from '@nestjs/common';
import type { ConfigService } from '@nestjs/config';
import type { NotificationsChannelsOptions } from 'nestjs-inbox';
import { generateVAPIDKeys } from 'web-push';
import { MailCatcher } from './mail-catcher';

/** The demo's mail catcher, for the notifications module's factory and the e-mail log page alike. */
@Module({ providers: [MailCatcher], exports: [MailCatcher] })
export class DemoMailModule {}

/** Where the demo's pages are, for `allowedOrigins` and the links in e-mails. */
export function demoOrigin(config: ConfigService): string {
  return config.get<string>('APP_ORIGIN') ?? `http://localhost:${config.get('PORT', 3000)}`;
}

/** A whole number from the environment, in range, else a start-up error naming the variable. */
function whole(config: ConfigService, name: string, fallback: number, max: number): number {
  const raw = config.get<string>(name);
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${name} must be a whole number from 0 to ${max}, got "${raw}"`);
  return n;
}

/** A demo user's address: `<user>@demo.example` (an id with an @ in it gets none: it is not a local part). */
export const demoAddress = (userId: string): string | null => (/^[\w.-]{1,64}$/.test(userId) ? `${userId}@demo.example` : null);

/**
 * The demo's channels (docs/channels.md): e-mail for what is still unseen after a short delay
 * (30 s, `DEMO_EMAIL_AFTER_MS`), to `SMTP_URL` or else to the demo's own SMTP catcher; Web Push
 * with the VAPID keys of `VAPID_PUBLIC_KEY` / `VAPID_PRIVATE_KEY`, or keys made at start (then a
 * browser's subscription lasts until the demo restarts).
 */
export async function demoChannels(config: ConfigService, catcher: MailCatcher): Promise<NotificationsChannelsOptions> {
  const origin = demoOrigin(config);
  const transport = config.get<string>('SMTP_URL') || (await catcher.start(whole(config, 'DEMO_SMTP_PORT', 0, 65_535)));
  const publicKey = config.get<string>('VAPID_PUBLIC_KEY');
  const privateKey = config.get<string>('VAPID_PRIVATE_KEY');
  if (!publicKey !== !privateKey) throw new Error('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY go together: set both, or neither');
  if (!publicKey) new Logger('demo').log('VAPID keys made for this run (set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY to keep them)');
  const keys = publicKey && privateKey ? { publicKey, privateKey } : generateVAPIDKeys();
  return {
    email: {
      transport,
      from: 'nestjs-inbox demo <inbox@demo.example>',
      address: demoAddress,
      after: whole(config, 'DEMO_EMAIL_AFTER_MS', 30_000, 30 * 86_400_000),
      baseUrl: origin,
      unsubscribeUrl: () => `${origin}/#preferences`,
    },
    webPush: { vapid: { subject: config.get('VAPID_SUBJECT', 'mailto:inbox@demo.example'), ...keys }, after: 10_000 },
  };
}
