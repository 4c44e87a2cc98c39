import { CreateInboxTables1732406400000 } from './1732406400000-create-inbox-tables';
import { InboxReadModel1764028800000 } from './1764028800000-inbox-read-model';
import { InboxSqlProducers1764115200000 } from './1764115200000-inbox-sql-producers';
import { InboxPresentation1764201600000 } from './1764201600000-inbox-presentation';
import { InboxStates1764288000000 } from './1764288000000-inbox-states';
import { InboxSqlPrivileges1764374400000 } from './1764374400000-inbox-sql-privileges';
import { InboxScopes1764460800000 } from './1764460800000-inbox-scopes';
import { InboxEngagement1764547200000 } from './1764547200000-inbox-engagement';
import { InboxGroups1764633600000 } from './1764633600000-inbox-groups';
import { InboxChannels1764720000000 } from './1764720000000-inbox-channels';
import { InboxChannelRetention1764806400000 } from './1764806400000-inbox-channel-retention';
import { InboxSqlWake1764892800000 } from './1764892800000-inbox-sql-wake';
import { InboxDeliveryRecord1764979200000 } from './1764979200000-inbox-delivery-record';
import { InboxSqlFastPath1765065600000 } from './1765065600000-inbox-sql-fast-path';
import { InboxLinkCheckFunctions1765152000000 } from './1765152000000-inbox-link-check-functions';
import { InboxSqlLeanStore1765238400000 } from './1765238400000-inbox-sql-lean-store';
import { InboxLateCheckPlan1765324800000 } from './1765324800000-inbox-late-check-plan';
import { InboxEngagementOnePass1765411200000 } from './1765411200000-inbox-engagement-one-pass';
import { InboxAudienceExpiryIndexes1765497600000 } from './1765497600000-inbox-audience-expiry-indexes';

/** The library's schema, in order: add to the host DataSource's `migrations`. */
export const NOTIFICATIONS_MIGRATIONS = [
  CreateInboxTables1732406400000,
  InboxReadModel1764028800000,
  InboxSqlProducers1764115200000,
  InboxPresentation1764201600000,
  InboxStates1764288000000,
  InboxSqlPrivileges1764374400000,
  InboxScopes1764460800000,
  InboxEngagement1764547200000,
  InboxGroups1764633600000,
  InboxChannels1764720000000,
  InboxChannelRetention1764806400000,
  InboxSqlWake1764892800000,
  InboxDeliveryRecord1764979200000,
  InboxSqlFastPath1765065600000,
  InboxLinkCheckFunctions1765152000000,
  InboxSqlLeanStore1765238400000,
  InboxLateCheckPlan1765324800000,
  InboxEngagementOnePass1765411200000,
  InboxAudienceExpiryIndexes1765497600000,
];
