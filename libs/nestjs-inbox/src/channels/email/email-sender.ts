import { NotificationsConfigError } from '../../notifications.errors';
import type { ChannelItem, MailTransporter, ResolvedChannelsOptions } from '../../notifications.feature-options';
import { defaultEmail, messageIdOf } from './email-template';

type Nodemailer = { createTransport(transport: unknown): MailTransporter };

/**
 * Loads `nodemailer`, only when the `channels.email` option is set with a URL or transport
 * options, so that hosts without e-mail need not install it.
 */
export async function loadNodemailer(load: () => Promise<unknown> = () => import('nodemailer')): Promise<Nodemailer> {
  try {
    const mod = (await load()) as Nodemailer & { default?: Nodemailer };
    return typeof mod.createTransport === 'function' ? mod : mod.default!;
  } catch (err) {
    if (!/Cannot find (?:module|package) 'nodemailer'/.test((err as Error).message)) throw err;
    throw new NotificationsConfigError(
      "the `channels.email` option needs the package 'nodemailer', which is not installed: npm install nodemailer",
    );
  }
}

/** One e-mail to hand over: the notifications of one inbox (several in a digest). */
export interface EmailSend {
  userId: string;
  scope: string;
  to: string;
  items: ChannelItem[];
}

/** The e-mail channel's sender: renders (the host's `render` or the default template) and hands to nodemailer. */
export class EmailSender {
  private constructor(
    private readonly options: NonNullable<ResolvedChannelsOptions['email']>,
    private readonly transporter: MailTransporter,
  ) {}

  static async create(options: NonNullable<ResolvedChannelsOptions['email']>): Promise<EmailSender> {
    const t = options.transport;
    const transporter =
      typeof t === 'object' && typeof (t as MailTransporter).sendMail === 'function'
        ? (t as MailTransporter)
        : (await loadNodemailer()).createTransport(t);
    return new EmailSender(options, transporter);
  }

  /**
   * Whether the transport can send now, for the health indicator: nodemailer's `verify()` (for
   * SMTP: connects, greets, authenticates, quits). `'unchecked'` for a Transporter without it.
   * Throws what it throws.
   */
  async verify(): Promise<'ok' | 'unchecked'> {
    const verify = (this.transporter as MailTransporter & { verify?: () => Promise<unknown> }).verify;
    if (typeof verify !== 'function') return 'unchecked';
    await verify.call(this.transporter);
    return 'ok';
  }

  /** Sends it; returns its Message-ID. Throws what the transport throws. */
  async send(mail: EmailSend): Promise<string> {
    const scope = mail.scope === '' ? null : mail.scope;
    const ctx = {
      userId: mail.userId,
      scope,
      items: mail.items,
      unsubscribeUrl: this.options.unsubscribeUrl?.(mail.userId, scope) ?? null,
    };
    const rendered = this.options.render ? await this.options.render(ctx) : defaultEmail(ctx, this.options.baseUrl);
    const messageId = messageIdOf(
      this.options.from,
      mail.userId,
      mail.scope,
      mail.items.map((i) => i.id),
    );
    await this.transporter.sendMail({
      from: this.options.from,
      to: mail.to,
      subject: rendered.subject,
      text: rendered.text,
      ...(rendered.html === undefined ? {} : { html: rendered.html }),
      messageId,
      ...(ctx.unsubscribeUrl ? { list: { unsubscribe: ctx.unsubscribeUrl } } : {}),
    });
    return messageId;
  }
}
