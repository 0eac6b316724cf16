/**
 * A header value safe for HTTP: printable ASCII as is, anything else as an RFC 2047 encoded word
 * (ntfy decodes `=?UTF-8?B?...?=` titles; fetch refuses raw non-Latin-1 header values).
 */
export function encodeHeader(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(flat) ? flat : `=?UTF-8?B?${Buffer.from(flat, 'utf8').toString('base64')}?=`;
}
