import { Controller, Get, Header, OnModuleInit } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { elementsScriptTagBundle, scriptTagBundle } from '../../libs/nestjs-inbox/scripts/build-client';

const PUBLIC = join(__dirname, '..', 'public');
const read = (file: string) => readFileSync(join(PUBLIC, file), 'utf8');
/** The pages' policy: nothing inline, so a slip into HTML rendering could not run or style anything. */
const PAGE_CSP = "default-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'";

/**
 * The demo page: static files plus the browser client, bundled in memory at start so that
 * `npm start` needs no build step. A strict CSP backs up the page's text-only rendering.
 */
@Controller()
export class DemoPageController implements OnModuleInit {
  private bundle = '';
  private elements = '';

  async onModuleInit(): Promise<void> {
    [this.bundle, this.elements] = await Promise.all([scriptTagBundle(), elementsScriptTagBundle()]);
  }

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', PAGE_CSP)
  page() {
    return read('index.html');
  }

  @Get('app.css')
  @Header('content-type', 'text/css; charset=utf-8')
  css() {
    return read('app.css');
  }

  @Get('app.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  script() {
    return read('app.js');
  }

  @Get('inbox.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  client() {
    return this.bundle;
  }

  /** The same inbox as the drop-in elements (`nestjs-inbox/elements`), signed in as on the main page. */
  @Get('elements')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', PAGE_CSP)
  elementsPage() {
    return read('elements.html');
  }

  @Get('inbox-elements.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  elementsBundle() {
    return this.elements;
  }
}
