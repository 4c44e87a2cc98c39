// The migrations' own entry point: the schema dump loads them without the rest of the library.
import { NOTIFICATIONS_MIGRATIONS } from 'nestjs-inbox/persistence/migrations';
import { DataSource } from 'typeorm';

/** Runs the library's migrations, as a host does (never `synchronize`). */
export async function migrate(url: string): Promise<void> {
  const ds = new DataSource({ type: 'postgres', url, migrations: [...NOTIFICATIONS_MIGRATIONS] });
  await ds.initialize();
  try {
    await ds.runMigrations();
  } finally {
    await ds.destroy();
  }
}
