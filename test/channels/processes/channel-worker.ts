/**
 * A producer-only process with the e-mail channel on (DATABASE_URL, SMTP_URL; optional FROM,
 * DIGEST_MS, CLAIM_BATCH), for the tests that run instances as processes of their own: killed
 * between a claim and the SMTP server's answer, or two claiming digests at once. Prints `ready`
 * once its engine runs.
 */
import { startWorker } from '../../support/app';

const env = process.env;
startWorker(env.DATABASE_URL!, {
  channels: {
    pollMs: 20,
    ...(env.CLAIM_BATCH ? { claimBatch: Number(env.CLAIM_BATCH) } : {}),
    email: {
      transport: env.SMTP_URL!,
      from: env.FROM ?? 'Acme <no-reply@acme.example>',
      address: (u) => `${u}@mail.test`,
      after: 0,
      ...(env.DIGEST_MS ? { digest: Number(env.DIGEST_MS) } : {}),
    },
  },
})
  .then(() => console.log('ready'))
  .catch((err: Error) => {
    console.error(err);
    process.exit(1);
  });
