import { Controller, Get, Header, NotFoundException, Param } from '@nestjs/common';

const NAME = /^([\w.@-]{1,64})\.svg$/;
const COLORS = ['#4f5bd5', '#30a46c', '#e5484d', '#f5a524', '#0090ff', '#8e4ec6', '#12a594', '#d6409f'];

/**
 * Avatars for the demo's notifications: a circle with the name's initial, in a colour of the
 * name, served from the site itself (the page's CSP allows images from its own origin only).
 */
@Controller('avatars')
export class AvatarController {
  @Get(':file')
  @Header('content-type', 'image/svg+xml')
  @Header('cache-control', 'public, max-age=86400')
  @Header('x-content-type-options', 'nosniff')
  @Header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
  avatar(@Param('file') file: string): string {
    const name = NAME.exec(file)?.[1];
    if (!name) throw new NotFoundException('no such avatar');
    let hash = 0;
    for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    // The name is [\w.@-]: nothing to escape in XML, but the initial is escaped anyway.
    const initial = name
      .charAt(0)
      .toUpperCase()
      .replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
    return (
      '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">' +
      `<circle cx="32" cy="32" r="32" fill="${COLORS[hash % COLORS.length]}"/>` +
      '<text x="32" y="42" font-family="system-ui,sans-serif" font-size="28" font-weight="700" ' +
      `fill="#fff" text-anchor="middle">${initial}</text></svg>`
    );
  }
}
