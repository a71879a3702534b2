// Starts s3rver on 127.0.0.1:PORT over DIR with bucket BUCKET (default "fanout"), and, because
// s3rver 3.7.1 parses SigV4 Authorization headers but never checks their signatures, puts a
// SigV4 verifier in front of it: every request must be signed with the key pair S3RVER/S3RVER,
// or it is refused with 403 (AccessDenied unsigned, SignatureDoesNotMatch otherwise).
'use strict';
const crypto = require('crypto');
const S3rver = require('s3rver');

const [port, directory, bucket = 'fanout'] = process.argv.slice(2);
if (!port || !directory) {
  console.error('usage: start.js PORT DIR [BUCKET]');
  process.exit(2);
}
const SECRETS = { S3RVER: 'S3RVER' };

const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();
const enc = (s) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function deny(ctx, code, message) {
  ctx.status = 403;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
}

async function verifySigV4(ctx, next) {
  const auth = ctx.get('authorization');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return deny(ctx, 'AccessDenied', 'request is not signed with AWS Signature Version 4');
  const [, keyId, date, region, service, signedHeaders, signature] = m;
  const secret = SECRETS[keyId];
  if (!secret) return deny(ctx, 'InvalidAccessKeyId', 'unknown access key id');
  const amzDate = ctx.get('x-amz-date');
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date') || !amzDate.startsWith(date)) {
    return deny(ctx, 'SignatureDoesNotMatch', 'host and x-amz-date must be signed');
  }
  const rawPath = ctx.req.url.split('?')[0];
  const rawQuery = ctx.req.url.includes('?') ? ctx.req.url.slice(ctx.req.url.indexOf('?') + 1) : '';
  const query = rawQuery
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const i = p.indexOf('=');
      const k = decodeURIComponent(i < 0 ? p : p.slice(0, i));
      const v = i < 0 ? '' : decodeURIComponent(p.slice(i + 1));
      return [enc(k), enc(v)];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = names
    .map((n) => `${n}:${String(ctx.req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  // Without x-amz-content-sha256 (curl --aws-sigv4 leaves it out) a body-less request signs the
  // hash of the empty body.
  const payload = ctx.get('x-amz-content-sha256') ||
    crypto.createHash('sha256').update('').digest('hex');
  const canonical = [ctx.method, rawPath, query, headers, signedHeaders, payload].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope,
                  crypto.createHash('sha256').update(canonical).digest('hex')].join('\n');
  let key = hmac('AWS4' + secret, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  const expected = hmac(key, toSign).toString('hex');
  if (expected !== signature) {
    return deny(ctx, 'SignatureDoesNotMatch', 'signature mismatch; canonical request was: ' +
                canonical.replace(/&/g, '&amp;').replace(/</g, '&lt;'));
  }
  return next();
}

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  vhostBuckets: false,
  configureBuckets: [{ name: bucket, configs: [] }],
});
server.middleware.unshift(verifySigV4);
server.run().then(({ address, port: bound }) => {
  console.log(`s3rver listening on ${address}:${bound}, bucket ${bucket}, SigV4 checked`);
});
const stop = () => server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
