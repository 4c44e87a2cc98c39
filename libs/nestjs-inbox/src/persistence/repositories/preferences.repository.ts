import { Injectable } from '@nestjs/common';
import { type Inbox, scopeColumn } from '../inbox-model';
import { StatementRunner } from '../statement-runner';

/** What a user has muted. */
export interface Muted {
  types: string[];
  topics: string[];
}

/**
 * An inbox's preferences: the types and topics muted in it (in its row of inbox_user_state),
 * which apply to everything it shows, the unscoped notifications too.
 */
@Injectable()
export class PreferencesRepository {
  constructor(private readonly runner: StatementRunner) {}

  async preferences(inbox: Inbox): Promise<Muted> {
    const rows = await this.runner.query<{ muted_types: string[]; muted_topics: string[] }>(
      `SELECT muted_types, muted_topics FROM inbox_user_state WHERE user_id = $1 AND scope = $2`,
      [inbox.userId, scopeColumn(inbox)],
    );
    return { types: rows[0]?.muted_types ?? [], topics: rows[0]?.muted_topics ?? [] };
  }

  /** Replaces the lists `muted` names (a list left out stays as it was); returns both. */
  async setPreferences(inbox: Inbox, muted: Partial<Muted>): Promise<Muted> {
    const [row] = await this.runner.query<{ muted_types: string[]; muted_topics: string[] }>(
      `INSERT INTO inbox_user_state AS us (user_id, scope, muted_types, muted_topics)
       VALUES ($1, $2, COALESCE($3::text[], '{}'), COALESCE($4::text[], '{}'))
       ON CONFLICT (user_id, scope) DO UPDATE
         SET muted_types = COALESCE($3::text[], us.muted_types), muted_topics = COALESCE($4::text[], us.muted_topics)
       RETURNING muted_types, muted_topics`,
      [inbox.userId, scopeColumn(inbox), muted.types ?? null, muted.topics ?? null],
    );
    return { types: row.muted_types, topics: row.muted_topics };
  }
}
