/**
 * A producer-only process with the e-mail channel on (DATABASE_URL, SMTP_URL), for the test that
 * kills it between a claim and the SMTP server's answer. Prints `ready` once its engine runs.
 */
import { startWorker } from '../../support/app';

startWorker(process.env.DATABASE_URL!, {
  channels: {
    pollMs: 20,
    email: { transport: process.env.SMTP_URL!, from: 'Acme <no-reply@acme.example>', address: (u) => `${u}@mail.test`, after: 0 },
  },
})
  .then(() => console.log('ready'))
  .catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
