import { Inject } from '@nestjs/common';
import { NOTIFICATIONS_OPTIONS } from './notifications.constants';

/**
 * Injects the module's resolved options (`ResolvedNotificationsOptions`, every default applied),
 * the pair of the `NOTIFICATIONS_OPTIONS` token, as `@InjectRepository()` is of its token.
 */
export const InjectNotificationsOptions = (): PropertyDecorator & ParameterDecorator => Inject(NOTIFICATIONS_OPTIONS);
