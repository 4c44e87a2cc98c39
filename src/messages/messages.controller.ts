import { BadRequestException, Body, Controller, Get, Param, Post, Req, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { DEMO_TYPES } from '../notification-types';
import { MessagesService } from './messages.service';

const text = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || !v.trim()) throw new BadRequestException(`${name} must be a non-empty string`);
  return v.trim();
};

@Controller('api')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  private user(req: Request): string {
    const userId = req.session.userId;
    if (!userId) throw new UnauthorizedException('log in first');
    return userId;
  }

  /** The kinds of notification, for the page's tabs and its mute switches. */
  @Get('types')
  types() {
    return DEMO_TYPES;
  }

  @Post('messages')
  send(@Req() req: Request, @Body() body: { to?: unknown; text?: unknown }) {
    return this.messages.sendMessage(this.user(req), text(body.to, 'to'), text(body.text, 'text'));
  }

  @Post('announcements')
  announce(@Req() req: Request, @Body() body: { title?: unknown; body?: unknown; kind?: unknown }) {
    const from = this.user(req);
    if (body.kind !== undefined && body.kind !== 'announcement' && body.kind !== 'system') {
      throw new BadRequestException("kind must be 'announcement' or 'system'");
    }
    const content = typeof body.body === 'string' && body.body ? body.body : undefined;
    return this.messages.announce(from, text(body.title, 'title'), content, body.kind === 'system');
  }

  @Post('topics/:topic/publish')
  publish(@Req() req: Request, @Param('topic') topic: string, @Body() body: { title?: unknown; body?: unknown }) {
    const from = this.user(req);
    const content = typeof body.body === 'string' && body.body ? body.body : undefined;
    return this.messages.publish(from, topic, text(body.title, 'title'), content);
  }
}
