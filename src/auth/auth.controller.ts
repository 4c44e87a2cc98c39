import { BadRequestException, Body, Controller, Get, HttpCode, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { NotificationService } from 'nestjs-inbox';

/** Demo log-in: no password, the point is the real signed session cookie it sets. */
@Controller('api')
export class AuthController {
  constructor(private readonly notifications: NotificationService) {}

  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Body() body: { userId?: unknown }) {
    const userId = typeof body.userId === 'string' ? body.userId.trim() : '';
    if (!/^[\w.@-]{1,64}$/.test(userId)) throw new BadRequestException('userId: 1-64 letters, digits, . _ @ -');
    await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
    req.session.userId = userId;
    return { userId };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Req() req: Request) {
    const userId = req.session.userId;
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
    if (userId) await this.notifications.disconnectUser(userId);
    return { ok: true };
  }

  @Get('me')
  me(@Req() req: Request) {
    return { userId: req.session.userId ?? null };
  }
}
