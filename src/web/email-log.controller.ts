import { Controller, Get, Header } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { MailCatcher } from '../channels/mail-catcher';
import { PAGE_CSP, readPublic } from './public-files';

/**
 * The e-mail log: what the demo's SMTP catcher received (the e-mail channel's sends), newest
 * first. The page builds its rows as text and shows each mail's HTML in a sandboxed frame.
 */
@Controller()
export class EmailLogController {
  constructor(
    private readonly catcher: MailCatcher,
    private readonly config: ConfigService,
  ) {}

  @Get('emails')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', PAGE_CSP)
  page() {
    return readPublic('emails.html');
  }

  @Get('emails.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  script() {
    return readPublic('emails.js');
  }

  /** `caught: false` when SMTP_URL sends the mails elsewhere: this page then has nothing to show. */
  @Get('api/emails')
  @Header('cache-control', 'no-store')
  list() {
    return { caught: !this.config.get('SMTP_URL'), mails: this.catcher.mails };
  }
}
