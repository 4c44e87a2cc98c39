import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { NotificationsConfigError } from '../notifications.errors';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { EngagementEvents, type EngagementEvent } from './engagement-events';

/** What the bridge uses of `@nestjs/event-emitter`: its `EventEmitter2` class (the provider's token). */
interface EventEmitterModule {
  EventEmitter2: abstract new (...args: never[]) => { emit(event: string, ...values: unknown[]): boolean };
}

/** The event name of an engagement event: `inbox.seen`, `inbox.read`, …, `inbox.delivered`. */
export function eventNameOf(event: Pick<EngagementEvent, 'type'>): string {
  return `inbox.${event.type}`;
}

/** Loads `@nestjs/event-emitter` only for the `eventEmitter` option, with an error saying what to install. */
export async function loadEventEmitter(load: () => Promise<unknown> = () => import('@nestjs/event-emitter')): Promise<EventEmitterModule> {
  try {
    return (await load()) as EventEmitterModule;
  } catch (err) {
    if (!/Cannot find (?:module|package) '@nestjs\/event-emitter'/.test((err as Error).message)) throw err;
    throw new NotificationsConfigError(
      "the `eventEmitter` option needs the package '@nestjs/event-emitter', which is not installed: npm install @nestjs/event-emitter",
    );
  }
}

/**
 * The `eventEmitter` option: each engagement event made on this instance is emitted through the
 * host's `EventEmitter2` as `inbox.<type>` (the same object as `NotificationService.events`
 * carries, `local: true`). This instance's events only: an `@OnEvent` handler runs once per
 * event, on the instance where it happened, and the bridge makes no Redis message.
 */
@Injectable()
export class EventEmitterBridge implements OnModuleInit {
  private readonly logger = new Logger('NotificationsModule');

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly engagement: EngagementEvents,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.options.eventEmitter) return;
    const { EventEmitter2 } = await loadEventEmitter();
    let emitter: InstanceType<EventEmitterModule['EventEmitter2']>;
    try {
      emitter = this.moduleRef.get(EventEmitter2, { strict: false });
    } catch {
      throw new NotificationsConfigError(
        'the `eventEmitter` option needs EventEmitterModule.forRoot() among the imports of your app module',
      );
    }
    this.engagement.listenLocally((event) => {
      // A handler's failure is the host's: it must not fail the change that made the event.
      try {
        emitter.emit(eventNameOf(event), event);
      } catch (err) {
        this.logger.error(`an ${eventNameOf(event)} handler failed: ${(err as Error).message}`);
      }
    });
  }
}
