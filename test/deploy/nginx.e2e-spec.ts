import { ClientEvent } from 'nestjs-inbox';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { type Cluster, startCluster } from '../support/cluster';
import { Child, freePort, waitForPort } from '../support/processes';

/** The upstream config sites run in front of several instances (the README's "Sticky sessions with nginx" shows the same). */
const nginxConf = (dir: string, port: number, upstreams: number[]) => `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream inbox {
    ip_hash;
${upstreams.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location /socket.io/ {
      proxy_pass http://inbox;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;

describe('behind nginx (ip_hash upstream, long-polling)', () => {
  let cluster: Cluster;
  let a: TestApp;
  let b: TestApp;
  let nginx: Child;
  let dir: string;
  let url: string;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    ({ a, b } = cluster);
    dir = mkdtempSync(join(tmpdir(), 'inbox-nginx-'));
    const port = await freePort();
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      nginxConf(
        dir,
        port,
        [a, b].map((t) => Number(new URL(t.url).port)),
      ),
    );
    nginx = new Child('nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf, '-g', 'daemon off;']);
    nginx.start();
    await waitForPort(port).catch((err) => {
      throw new Error(`${(err as Error).message}; nginx said: ${nginx.log}`);
    });
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await nginx?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await cluster?.close();
  });

  it('keeps a polling session on one instance and delivers what either instance sends', async () => {
    const client = await TestClient.connect(url, 'proxied', { transports: ['polling'] });
    clients.push(client);
    expect(client.socket.io.engine.transport.name).toBe('polling');
    await a.service.notify('proxied', { type: 't', title: 'via A' });
    await b.service.notify('proxied', { type: 't', title: 'via B' });
    await client.waitForTitle('via A');
    await client.waitForTitle('via B');
    expect(await client.request(ClientEvent.ReadAll, {})).toMatchObject({ unread: 0 });
  });

  it('still checks the browser Origin, which nginx passes through', async () => {
    const err = await TestClient.refusal(url, 'proxied', { transports: ['polling'], origin: 'https://evil.example' });
    expect(err.message).toMatch(/origin not allowed/);
  });
});
