import { Logger } from '@nestjs/common';
import { originRule, sameHost } from './origin-rule';

describe('sameHost: an Origin naming the host and port the request was sent to', () => {
  it.each([
    ['http://127.0.0.1:3000', '127.0.0.1:3000', false],
    ['http://localhost:3000', 'localhost:3000', false],
    ['https://app.example.com', 'app.example.com', false],
    ['https://app.example.com', 'app.example.com:443', false],
    ['http://app.example.com', 'app.example.com:80', false],
    ['https://app.example.com', 'app.example.com', true],
    // Behind a TLS-terminating proxy that keeps `Host`: the connection here is plain.
    ['https://app.example.com', 'APP.example.com', false],
    ['http://[::1]:3000', '[::1]:3000', false],
  ])('%s with Host %s (TLS here: %s) is the same host', (origin, host, secure) => {
    expect(sameHost(origin, host, secure)).toBe(true);
  });

  it.each([
    ['another port', 'http://127.0.0.1:3001', '127.0.0.1:3000', false],
    ['another name for the same address', 'http://localhost:3000', '127.0.0.1:3000', false],
    ['a subdomain', 'https://evil.app.example.com', 'app.example.com', false],
    ['an http page over TLS to this process', 'http://app.example.com', 'app.example.com', true],
    ['no Host', 'http://app.example.com', undefined, false],
    ['an opaque origin', 'null', 'app.example.com', false],
    ['a scheme other than http(s)', 'file://app.example.com', 'app.example.com', false],
    ['an origin with a path', 'http://app.example.com/x', 'app.example.com', false],
    ['an origin in upper case (no browser sends it)', 'http://APP.example.com', 'app.example.com', false],
    ['credentials smuggled into Host', 'http://app.example.com', 'evil.example@app.example.com', false],
    ['a path smuggled into Host', 'http://evil.example', 'evil.example/app.example.com', false],
  ])('refuses %s', (_case, origin, host, secure) => {
    expect(sameHost(origin, host, secure)).toBe(false);
  });
});

describe('originRule', () => {
  const allowedOrigins = ['https://app.example.com'];
  afterEach(() => vi.restoreAllMocks());

  it('allows a listed origin, the own host, and no Origin; refuses the rest with the message the client gets', () => {
    const check = originRule({ allowedOrigins, requireOrigin: false });
    expect(check({ headers: { origin: 'https://app.example.com', host: '10.0.0.5:3000' }, secure: false })).toBeNull();
    expect(check({ headers: { origin: 'http://10.0.0.5:3000', host: '10.0.0.5:3000' }, secure: false })).toBeNull();
    expect(check({ headers: { host: '10.0.0.5:3000' }, secure: false })).toBeNull();
    expect(check({ headers: { origin: 'https://evil.example', host: '10.0.0.5:3000' }, secure: false })).toBe(
      'origin not allowed: https://evil.example',
    );
  });

  it('does not read X-Forwarded-Host: a client may send any', () => {
    const check = originRule({ allowedOrigins, requireOrigin: false });
    const headers = { origin: 'https://evil.example', host: '10.0.0.5:3000', 'x-forwarded-host': 'evil.example' };
    expect(check({ headers, secure: false })).toBe('origin not allowed: https://evil.example');
  });

  it('requireOrigin refuses a request without Origin', () => {
    const check = originRule({ allowedOrigins, requireOrigin: true });
    expect(check({ headers: { host: 'app.example.com' }, secure: true })).toBe('origin required: the request has no Origin header');
    expect(check({ headers: { origin: 'https://app.example.com', host: 'app.example.com' }, secure: true })).toBeNull();
  });

  it('logs each refused origin once, and at most 100 of them', () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const check = originRule({ allowedOrigins, requireOrigin: false });
    for (let i = 0; i < 3; i++) check({ headers: { origin: 'https://evil.example', host: 'app.example.com' }, secure: true });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toBe(
      'refused a socket: origin not allowed: https://evil.example (Host: "app.example.com"); ' +
        'if the site\'s pages are served from "https://evil.example", add it to `allowedOrigins`',
    );
    for (let i = 0; i < 200; i++) check({ headers: { origin: `https://e${i}.example`, host: 'app.example.com' }, secure: true });
    expect(warn).toHaveBeenCalledTimes(100);
  });
});
