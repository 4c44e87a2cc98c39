import { BadRequestException, Body, Controller, Param, Post, Req, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
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

  @Post('messages')
  send(@Req() req: Request, @Body() body: { to?: unknown; text?: unknown }) {
    return this.messages.sendMessage(this.user(req), text(body.to, 'to'), text(body.text, 'text'));
  }

  @Post('announcements')
  announce(@Req() req: Request, @Body() body: { title?: unknown; body?: unknown }) {
    this.user(req);
    return this.messages.announce(text(body.title, 'title'), typeof body.body === 'string' ? body.body : undefined);
  }

  @Post('topics/:topic/publish')
  publish(@Req() req: Request, @Param('topic') topic: string, @Body() body: { title?: unknown; body?: unknown }) {
    this.user(req);
    return this.messages.publish(topic, text(body.title, 'title'), typeof body.body === 'string' ? body.body : undefined);
  }
}
