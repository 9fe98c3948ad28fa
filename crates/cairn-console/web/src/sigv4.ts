// AWS Signature Version 4 for requests the browser sends to this origin (header form). Hashing is done here rather
// than with WebCrypto so that the console also works over plain http on a non-loopback address.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface Unsigned {
  method: string;
  /** The path exactly as sent, already percent-encoded (each segment by `encodeRfc3986`). */
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Percent-encodes as SigV4 and S3 expect: everything but unreserved characters. */
export function encodeRfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export function queryString(query: [string, string][]): string {
  return query
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function hex(data: Uint8Array | string): string {
  return bytesToHex(sha256(typeof data === 'string' ? utf8ToBytes(data) : data));
}

function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * Signs `req` for `service` in `region`: returns the headers to send (the request's own, `x-amz-date`,
 * `x-amz-content-sha256`, the session token if any, and `Authorization`). `host` is the authority the browser sends.
 */
export function sign(
  req: Unsigned,
  creds: Credentials,
  region: string,
  service: string,
  host: string,
  now: Date = new Date(),
): Record<string, string> {
  const date = amzDate(now);
  const day = date.slice(0, 8);
  const payloadHash = hex(req.body);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  headers['x-amz-date'] = date;
  headers['x-amz-content-sha256'] = payloadHash;
  if (creds.sessionToken) headers['x-amz-security-token'] = creds.sessionToken;
  const signing: Record<string, string> = { ...headers, host };
  const names = Object.keys(signing).sort();
  const canonicalHeaders = names.map((n) => `${n}:${signing[n].trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonical = [req.method, req.path, queryString(req.query), canonicalHeaders, signedHeaders, payloadHash].join(
    '\n',
  );
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, hex(canonical)].join('\n');
  let key: Uint8Array = utf8ToBytes('AWS4' + creds.secretAccessKey);
  for (const part of [day, region, service, 'aws4_request']) key = hmac(sha256, key, utf8ToBytes(part));
  const signature = bytesToHex(hmac(sha256, key, utf8ToBytes(toSign)));
  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
