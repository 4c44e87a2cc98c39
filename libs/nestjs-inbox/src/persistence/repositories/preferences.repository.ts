import { Injectable } from '@nestjs/common';
import { StatementRunner } from '../statement-runner';

/** What a user has muted. */
export interface Muted {
  types: string[];
  topics: string[];
}

/** A user's preferences: the types and topics they muted (in their row of inbox_user_state). */
@Injectable()
export class PreferencesRepository {
  constructor(private readonly runner: StatementRunner) {}

  async preferences(userId: string): Promise<Muted> {
    const rows = await this.runner.query<{ muted_types: string[]; muted_topics: string[] }>(
      `SELECT muted_types, muted_topics FROM inbox_user_state WHERE user_id = $1`,
      [userId],
    );
    return { types: rows[0]?.muted_types ?? [], topics: rows[0]?.muted_topics ?? [] };
  }

  /** Replaces the lists `muted` names (a list left out stays as it was); returns both. */
  async setPreferences(userId: string, muted: Partial<Muted>): Promise<Muted> {
    const [row] = await this.runner.query<{ muted_types: string[]; muted_topics: string[] }>(
      `INSERT INTO inbox_user_state AS us (user_id, muted_types, muted_topics)
       VALUES ($1, COALESCE($2::text[], '{}'), COALESCE($3::text[], '{}'))
       ON CONFLICT (user_id) DO UPDATE
         SET muted_types = COALESCE($2::text[], us.muted_types), muted_topics = COALESCE($3::text[], us.muted_topics)
       RETURNING muted_types, muted_topics`,
      [userId, muted.types ?? null, muted.topics ?? null],
    );
    return { types: row.muted_types, topics: row.muted_topics };
  }
}
