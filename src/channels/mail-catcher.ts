import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A mail the catcher received, as the e-mail log page shows it. */
export interface CaughtMail {
  id: number;
  at: string;
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** The HTML part as sent: the page shows it in a sandboxed frame, never as the page's markup. */
  html: string | null;
  messageId: string | null;
}

/** Enough to show what the demo sent lately, not a mail store: the oldest go first. */
const KEPT = 100;

const addresses = (field: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(field) ? field : field ? [field] : []).flatMap((a) => a.value.map((v) => v.address ?? '')).filter(Boolean);

/**
 * The demo's own SMTP server (smtp-server, by nodemailer's authors) on loopback, so that the
 * e-mail channel has somewhere to send when no SMTP_URL is configured: `npm start` needs nothing
 * else. It accepts every mail, parses it (mailparser) and keeps the last ones in memory.
 */
@Injectable()
export class MailCatcher implements OnModuleDestroy {
  private server: SMTPServer | null = null;
  private next = 1;
  private readonly caught: CaughtMail[] = [];

  /** Newest first. */
  get mails(): readonly CaughtMail[] {
    return this.caught;
  }

  /** Listens on 127.0.0.1 (`port` 0: a free one); resolves the `smtp://` URL to send to. */
  async start(port: number): Promise<string> {
    const server = new SMTPServer({
      authOptional: true,
      // Loopback only: nothing to encrypt or authenticate.
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      size: 1024 * 1024,
      onData: (stream, _session, callback) => {
        simpleParser(stream).then(
          (mail) => {
            this.caught.unshift({
              id: this.next++,
              at: (mail.date ?? new Date()).toISOString(),
              from: addresses(mail.from).join(', '),
              to: addresses(mail.to),
              subject: mail.subject ?? '',
              text: mail.text ?? '',
              html: typeof mail.html === 'string' ? mail.html : null,
              messageId: mail.messageId ?? null,
            });
            this.caught.length = Math.min(this.caught.length, KEPT);
            callback();
          },
          (err: Error) => callback(err),
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    }).catch((err: Error) => {
      throw new Error(`the demo's SMTP catcher could not listen on 127.0.0.1:${port} (${err.message}): set DEMO_SMTP_PORT, or SMTP_URL`);
    });
    this.server = server;
    const url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    new Logger('demo').log(`e-mails go to the demo's SMTP catcher on ${url}`);
    return url;
  }

  onModuleDestroy(): Promise<void> {
    const server = this.server;
    this.server = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
