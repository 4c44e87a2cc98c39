import { Controller, Get, Header, OnModuleInit } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { elementsScriptTagBundle } from '../../libs/nestjs-inbox/scripts/build-client';
import { PAGE_CSP, readPublic } from './public-files';

/** The shipped service worker (`nestjs-inbox/client/inbox-sw.js`), from the library's source. */
const SERVICE_WORKER = join(__dirname, '..', '..', 'libs', 'nestjs-inbox', 'src', 'client', 'inbox-sw.js');

/**
 * The demo page: static files plus the drop-in elements' script-tag bundle, bundled in memory
 * at start so that `npm start` needs no build step. A strict CSP backs up the text-only rendering.
 */
@Controller()
export class DemoPageController implements OnModuleInit {
  private elements = '';

  async onModuleInit(): Promise<void> {
    this.elements = await elementsScriptTagBundle();
  }

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', PAGE_CSP)
  page() {
    return readPublic('index.html');
  }

  @Get('app.css')
  @Header('content-type', 'text/css; charset=utf-8')
  css() {
    return readPublic('app.css');
  }

  @Get('app.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  script() {
    return readPublic('app.js');
  }

  /** The same inbox with nothing but the elements' script: what a plain page (PHP, any template) writes. */
  @Get('elements')
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', PAGE_CSP)
  elementsPage() {
    return readPublic('elements.html');
  }

  @Get('inbox-elements.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  elementsBundle() {
    return this.elements;
  }

  /** The Web Push service worker, from the site's root so that its scope is the whole site. */
  @Get('inbox-sw.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'no-cache')
  serviceWorker() {
    return readFileSync(SERVICE_WORKER, 'utf8');
  }
}
