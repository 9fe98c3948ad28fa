// Clients for the AWS APIs the console calls on its own origin, each in its service's protocol: AWS JSON 1.1
// (CloudTrail, KMS, CloudWatch Logs), AWS JSON 1.0 (CloudWatch), query with XML answers (SNS) and REST-XML (S3).
// Every failure becomes an `AwsError` carrying the service's error code and message.
import { t } from './i18n';
import { session } from './session';
import { encodeRfc3986, queryString, sign } from './sigv4';

export class AwsError extends Error {
  constructor(
    public code: string,
    message: string,
    public status: number,
    public requestId?: string,
  ) {
    super(message);
  }
}

const encoder = new TextEncoder();

interface Sent {
  service: string;
  method: string;
  path: string;
  query?: [string, string][];
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

async function send(req: Sent): Promise<Response> {
  const creds = session.credentials();
  if (!creds) throw new AwsError('NotSignedIn', t('aws.notSignedIn'), 0);
  const body = typeof req.body === 'string' ? encoder.encode(req.body) : (req.body ?? new Uint8Array());
  const query = req.query ?? [];
  const headers = sign(
    { method: req.method, path: req.path, query, headers: req.headers ?? {}, body },
    creds,
    session.region(),
    req.service,
    location.host,
  );
  const qs = queryString(query);
  let resp: Response;
  try {
    resp = await fetch(req.path + (qs ? '?' + qs : ''), {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : (body as BodyInit),
      signal: req.signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new AwsError('NetworkError', t('aws.network', { reason: (e as Error).message }), 0);
  }
  return resp;
}

/**
 * A JSON-protocol error as the SDKs read it: the code from `__type` (or `x-amzn-errortype`), or for query-compatible
 * services (CloudWatch) the query code in `x-amzn-query-error`; the message from `message`/`Message`.
 */
function jsonError(status: number, text: string, resp: Response): AwsError {
  let code = resp.headers.get('x-amzn-errortype')?.split(':')[0] ?? '';
  let message = '';
  try {
    const j = JSON.parse(text);
    code = String(j.__type ?? code).split('#').pop() ?? code;
    message = j.message ?? j.Message ?? '';
  } catch {
    message = text.slice(0, 500);
  }
  const query = resp.headers.get('x-amzn-query-error')?.split(';')[0];
  return new AwsError(query || code || `HTTP${status}`, message || resp.statusText, status, resp.headers.get('x-amzn-requestid') ?? undefined);
}

const TARGETS: Record<string, [string, string]> = {
  cloudtrail: ['com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.', '1.1'],
  kms: ['TrentService.', '1.1'],
  logs: ['Logs_20140328.', '1.1'],
  monitoring: ['GraniteServiceVersion20100801.', '1.0'],
};

/** Calls a JSON-protocol operation: `service` is the signing name (cloudtrail, kms, logs, monitoring). */
export async function json<T = any>(service: string, operation: string, input: object = {}, signal?: AbortSignal): Promise<T> {
  const [prefix, version] = TARGETS[service];
  const resp = await send({
    service,
    method: 'POST',
    path: '/',
    headers: { 'content-type': `application/x-amz-json-${version}`, 'x-amz-target': prefix + operation },
    body: JSON.stringify(input),
    signal,
  });
  const text = await resp.text();
  if (!resp.ok) throw jsonError(resp.status, text, resp);
  try {
    return (text ? JSON.parse(text) : {}) as T;
  } catch {
    throw new AwsError('InvalidResponse', t('aws.invalidResponse', { operation }), resp.status);
  }
}

export const cloudtrail = <T = any>(op: string, input: object = {}, signal?: AbortSignal) => json<T>('cloudtrail', op, input, signal);
export const kms = <T = any>(op: string, input: object = {}) => json<T>('kms', op, input);
export const logs = <T = any>(op: string, input: object = {}) => json<T>('logs', op, input);
export const cloudwatch = <T = any>(op: string, input: object = {}) => json<T>('monitoring', op, input);

function xmlError(status: number, text: string, resp: Response): AwsError {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  const code = doc.getElementsByTagName('Code')[0]?.textContent ?? `HTTP${status}`;
  const message = doc.getElementsByTagName('Message')[0]?.textContent ?? (text.slice(0, 500) || resp.statusText);
  const rid = doc.getElementsByTagName('RequestId')[0]?.textContent ?? resp.headers.get('x-amz-request-id') ?? undefined;
  return new AwsError(code, message, status, rid);
}

/** Calls a query-protocol action of `service` (form body, XML answer); answers the parsed XML document. */
async function queryCall(service: string, version: string, action: string, params: Record<string, string>): Promise<Document> {
  const form = new URLSearchParams({ Action: action, Version: version, ...params }).toString();
  const resp = await send({
    service,
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: form,
  });
  const text = await resp.text();
  if (!resp.ok) throw xmlError(resp.status, text, resp);
  return new DOMParser().parseFromString(text, 'application/xml');
}

/** Calls an SNS action (query protocol). */
export const sns = (action: string, params: Record<string, string> = {}) => queryCall('sns', '2010-03-31', action, params);

export interface CallerIdentity {
  account: string;
  arn: string;
  userId: string;
}

const identities = new Map<string, Promise<CallerIdentity>>();

/** Who the signed-in key is (STS GetCallerIdentity), asked once per access key. */
export function callerIdentity(): Promise<CallerIdentity> {
  const key = session.accessKeyId();
  let found = identities.get(key);
  if (!found) {
    found = queryCall('sts', '2011-06-15', 'GetCallerIdentity', {}).then((doc) => ({
      account: xmlAll(doc, 'Account')[0] ?? '',
      arn: xmlAll(doc, 'Arn')[0] ?? '',
      userId: xmlAll(doc, 'UserId')[0] ?? '',
    }));
    found.catch(() => identities.delete(key));
    identities.set(key, found);
  }
  return found;
}

/**
 * Calls an S3 bucket operation (REST-XML, path style). Object operations are not offered: a browser resolves `.` and
 * `..` segments in a URL before sending it, so some keys could not be addressed as signed.
 */
export async function s3(
  method: string,
  bucket: string,
  query: [string, string][] = [],
  body?: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<{ status: number; text: string; headers: Headers }> {
  const resp = await send({ service: 's3', method, path: '/' + encodeRfc3986(bucket), query, body, headers, signal });
  const text = method === 'HEAD' ? '' : await resp.text();
  if (!resp.ok) throw xmlError(resp.status, text, resp);
  return { status: resp.status, text, headers: resp.headers };
}

/** The text of every `tag` element under `node`. */
export function xmlAll(node: Document | Element, tag: string): string[] {
  return Array.from(node.getElementsByTagName(tag)).map((e) => e.textContent ?? '');
}
