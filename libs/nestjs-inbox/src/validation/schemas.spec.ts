import { urlProblem } from './schemas';

describe('urlProblem: the links a notification may carry', () => {
  it.each([
    'https://example.com',
    'http://example.com:8080/a/b?c=d#e',
    'HTTPS://Example.COM/Orders',
    'https://müller.example/ä',
    'https://user@example.com/',
    '/',
    '/orders/7?tab=items#top',
    '/a b',
    `/${'x'.repeat(2047)}`,
  ])('accepts %j', (url) => {
    expect(urlProblem(url)).toBeNull();
  });

  it.each<[string, RegExp]>([
    ['javascript:alert(1)', /http\(s\) URL or a site-relative path/],
    [' javascript:alert(1)', /http\(s\) URL/],
    ['JaVaScRiPt:alert(1)', /http\(s\) URL/],
    ['java\tscript:alert(1)', /control characters/],
    ['data:text/html,x', /http\(s\) URL/],
    ['mailto:a@example.com', /http\(s\) URL/],
    ['//evil.com', /http\(s\) URL/],
    ['/\\evil.com', /backslashes/],
    ['https:\\\\evil.com', /backslashes/],
    ['/\n/evil.com', /control characters/],
    ['/\u0085', /control characters/],
    ['http:evil.com', /http\(s\) URL/],
    ['https://', /http\(s\) URL/],
    ['https://exa mple.com', /http\(s\) URL/],
    ['https://[::1', /http\(s\) URL/],
    ['orders/7', /http\(s\) URL/],
    ['', /http\(s\) URL/],
    [`/${'x'.repeat(2048)}`, /at most 2048 characters/],
  ])('refuses %j', (url, problem) => {
    expect(urlProblem(url)).toMatch(problem);
  });
});
