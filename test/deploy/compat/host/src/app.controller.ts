import { Body, Controller, Get, HttpCode, Post, Query, Req, UnauthorizedException } from '@nestjs/common';
import { NotificationService } from 'nestjs-inbox';
import { DataSource } from 'typeorm';
import type { UserSession } from './session';

interface SessionRequest {
  session: UserSession;
}

/** Thrown inside a transaction to roll it back. */
class RollBack extends Error {}

@Controller()
export class AppController {
  constructor(
    private readonly notifications: NotificationService,
    private readonly dataSource: DataSource,
  ) {}

  /** The site's login: the session now names the user, and the response sets `connect.sid`. */
  @Post('login')
  @HttpCode(200)
  login(@Req() req: SessionRequest, @Body('user') user: string) {
    req.session.userId = user;
    return { user };
  }

  /** A plain notify to the logged-in user. */
  @Post('notify')
  @HttpCode(200)
  async notify(@Req() req: SessionRequest, @Body('title') title: string) {
    const [stored] = await this.notifications.notify(this.user(req), { type: 'compat', title });
    return { id: stored.id };
  }

  /** notify({ manager }) inside a transaction that commits: delivered after the commit. */
  @Post('notify/commit')
  @HttpCode(200)
  async notifyCommitted(@Req() req: SessionRequest, @Body('title') title: string) {
    const stored = await this.dataSource.transaction(async (manager) => {
      const [n] = await this.notifications.notify(this.user(req), { type: 'compat', title }, { manager });
      return n;
    });
    return { id: stored.id };
  }

  /** notify({ manager }) inside a transaction that then throws: never delivered, never stored. */
  @Post('notify/rollback')
  @HttpCode(200)
  async notifyRolledBack(@Req() req: SessionRequest, @Body('title') title: string) {
    let id: string | undefined;
    try {
      await this.dataSource.transaction(async (manager) => {
        const [n] = await this.notifications.notify(this.user(req), { type: 'compat', title }, { manager });
        id = n.id;
        throw new RollBack('rolled back on purpose');
      });
    } catch (err) {
      if (!(err instanceof RollBack)) throw err;
      return { rolledBack: true, id };
    }
    return { rolledBack: false, id };
  }

  /** Whether the user has a socket open on any instance (asks the others through Redis). */
  @Get('online')
  async online(@Query('user') user: string) {
    return { online: await this.notifications.isOnline(user) };
  }

  private user(req: SessionRequest): string {
    const user = req.session.userId;
    if (!user) throw new UnauthorizedException('log in first');
    return user;
  }
}
