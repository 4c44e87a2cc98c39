import { dropStaleDatabases } from './database';

export default async function globalSetup(): Promise<void> {
  await dropStaleDatabases();
}
