/** `name=value` of the cookie a response sets, ready for a `Cookie` header. */
export function setCookie(response: Response, name: string): string {
  const found = response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .find((c) => c.startsWith(`${name}=`));
  if (!found) throw new Error(`the response set no '${name}' cookie (status ${response.status})`);
  return found;
}

/** Every cookie a response sets, as one `Cookie` header. */
export function setCookies(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}
