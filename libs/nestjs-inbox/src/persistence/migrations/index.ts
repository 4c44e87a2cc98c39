import { CreateInboxTables1732406400000 } from './1732406400000-create-inbox-tables';

/** The library's schema, in order: add to the host DataSource's `migrations`. */
export const NOTIFICATIONS_MIGRATIONS = [CreateInboxTables1732406400000];
