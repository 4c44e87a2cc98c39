import { BadRequestException, Body, Controller, Get, Param, Post, Req, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { DEMO_WORKSPACES, isWorkspace } from '../workspaces';
import { MessagesService } from './messages.service';

const text = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || !v.trim()) throw new BadRequestException(`${name} must be a non-empty string`);
  return v.trim();
};

/** The workspace a notification goes into; absent, null or '': site-wide (unscoped). */
const workspace = (v: unknown): string | undefined => {
  if (v === undefined || v === null || v === '') return undefined;
  if (!isWorkspace(v)) throw new BadRequestException(`scope must be one of ${DEMO_WORKSPACES.map((w) => w.id).join(', ')} or empty`);
  return v;
};

@Controller('api')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  private user(req: Request): string {
    const userId = req.session.userId;
    if (!userId) throw new UnauthorizedException('log in first');
    return userId;
  }

  /** The workspaces, for the page's switcher and its "where to" choices. */
  @Get('workspaces')
  workspaces() {
    return DEMO_WORKSPACES;
  }

  @Post('messages')
  send(@Req() req: Request, @Body() body: { to?: unknown; text?: unknown; scope?: unknown }) {
    return this.messages.sendMessage(this.user(req), text(body.to, 'to'), text(body.text, 'text'), workspace(body.scope));
  }

  @Post('threads/:thread/replies')
  reply(@Req() req: Request, @Param('thread') thread: string, @Body() body: { to?: unknown; text?: unknown; scope?: unknown }) {
    const from = this.user(req);
    return this.messages.reply(from, text(body.to, 'to'), text(thread, 'thread'), text(body.text, 'text'), workspace(body.scope));
  }

  @Post('announcements')
  announce(@Req() req: Request, @Body() body: { title?: unknown; body?: unknown; kind?: unknown; scope?: unknown }) {
    const from = this.user(req);
    if (body.kind !== undefined && body.kind !== 'announcement' && body.kind !== 'system') {
      throw new BadRequestException("kind must be 'announcement' or 'system'");
    }
    const content = typeof body.body === 'string' && body.body ? body.body : undefined;
    return this.messages.announce(from, text(body.title, 'title'), content, body.kind === 'system', workspace(body.scope));
  }

  @Post('topics/:topic/publish')
  publish(@Req() req: Request, @Param('topic') topic: string, @Body() body: { title?: unknown; body?: unknown; scope?: unknown }) {
    const from = this.user(req);
    const content = typeof body.body === 'string' && body.body ? body.body : undefined;
    return this.messages.publish(from, topic, text(body.title, 'title'), content, workspace(body.scope));
  }
}
