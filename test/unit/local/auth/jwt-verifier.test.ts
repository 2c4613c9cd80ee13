/**
 * The local JWT check (`npm start -- --auth`), against the rules of API Gateway's JWT authorizer, and the
 * local read server's 401 in front of the read routes. Keys are made here with jose; no issuer server.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../../../src/core/metric-config.js';
import { JwtRejectedError, JwtVerifier } from '../../../../src/local/auth/jwt-verifier.js';
import { startReadServer, type ReadServer } from '../../../../src/local/read-server.js';

const ISSUER = 'http://127.0.0.1:9/issuer';
const CLIENT_ID = 'dashboard-client';
const NOW_S = 1_800_000_000;

let key: CryptoKey;
let otherKey: CryptoKey;
let verifier: JwtVerifier;

async function token(
  claims: JWTPayload,
  options: { key?: CryptoKey | Uint8Array; alg?: string; kid?: string } = {},
): Promise<string> {
  return new SignJWT({ iss: ISSUER, iat: NOW_S - 10, exp: NOW_S + 3600, sub: 'u1', ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'k1' })
    .sign(options.key ?? key);
}

async function rejection(header: string | undefined): Promise<JwtRejectedError> {
  const err = await verifier.verify(header).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JwtRejectedError);
  return err as JwtRejectedError;
}

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  key = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  // The issuer's JWKS: the public half of `key` only.
  const jwk = await exportJWK(pair.publicKey);
  verifier = new JwtVerifier({
    issuer: ISSUER,
    audience: [CLIENT_ID],
    keys: createLocalJWKSet({ keys: [{ ...jwk, kid: 'k1', alg: 'RS256', use: 'sig' }] }),
    clock: () => NOW_S * 1000,
  });
});

describe('JwtVerifier accepts what the authorizer accepts', () => {
  it('a token whose aud is the client id, with or without the Bearer prefix', async () => {
    const t = await token({ aud: CLIENT_ID });
    expect((await verifier.verify(`Bearer ${t}`)).sub).toBe('u1');
    expect((await verifier.verify(t)).sub).toBe('u1');
  });

  it('a Cognito-style access token: no aud, client_id is the client', async () => {
    const claims = await verifier.verify(`Bearer ${await token({ client_id: CLIENT_ID })}`);
    expect(claims.client_id).toBe(CLIENT_ID);
  });
});

describe('JwtVerifier rejects', () => {
  it('no token', async () => {
    expect((await rejection(undefined)).reason).toBe('missing');
    expect((await rejection('Bearer ')).reason).toBe('missing');
  });

  it('an expired token', async () => {
    expect((await rejection(`Bearer ${await token({ aud: CLIENT_ID, exp: NOW_S - 1 })}`)).reason).toBe('expired');
  });

  it('a token not valid yet (nbf)', async () => {
    expect((await rejection(`Bearer ${await token({ aud: CLIENT_ID, nbf: NOW_S + 60 })}`)).reason).toBe('nbf');
  });

  it('a token signed by another key (same kid)', async () => {
    expect((await rejection(`Bearer ${await token({ aud: CLIENT_ID }, { key: otherKey })}`)).reason).toBe('signature');
  });

  it('a token with a tampered payload', async () => {
    const [h, , s] = (await token({ aud: CLIENT_ID })).split('.');
    const forged = Buffer.from(JSON.stringify({ iss: ISSUER, aud: CLIENT_ID, exp: NOW_S + 60, sub: 'admin' })).toString(
      'base64url',
    );
    expect((await rejection(`Bearer ${h}.${forged}.${s}`)).reason).toBe('signature');
  });

  it('an HMAC token (alg confusion) and an unsigned one', async () => {
    const hs = await token({ aud: CLIENT_ID }, { key: new TextEncoder().encode('x'.repeat(32)), alg: 'HS256' });
    expect((await rejection(`Bearer ${hs}`)).reason).toBe('algorithm');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: CLIENT_ID })).toString('base64url')}.`;
    expect(['algorithm', 'malformed']).toContain((await rejection(`Bearer ${none}`)).reason);
  });

  it('another issuer', async () => {
    expect((await rejection(`Bearer ${await token({ aud: CLIENT_ID, iss: 'https://evil.example' })}`)).reason).toBe(
      'iss',
    );
  });

  it('another audience, and a client_id that does not count when aud is present', async () => {
    expect((await rejection(`Bearer ${await token({ aud: 'other-app' })}`)).reason).toBe('audience');
    expect((await rejection(`Bearer ${await token({ aud: 'other-app', client_id: CLIENT_ID })}`)).reason).toBe(
      'audience',
    );
    expect((await rejection(`Bearer ${await token({ client_id: 'other-app' })}`)).reason).toBe('audience');
  });

  it('garbage', async () => {
    expect((await rejection('Bearer not.a.jwt')).reason).toBe('malformed');
  });
});

describe('the local read server with auth', () => {
  let server: ReadServer;
  beforeAll(async () => {
    server = await startReadServer({
      // Never called: every request below is answered before the read handler runs, or reads no table.
      client: new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' }),
      tableName: 'unused',
      metrics: compileConfig({ metrics: [{ name: 'm', aggregates: ['count'], windows: ['1m'] }] }, 'test'),
      logger: new Logger({ logLevel: 'SILENT' }),
      auth: { verifier, settings: { mode: 'JWT', issuer: ISSUER, clientId: CLIENT_ID, scopes: 'openid' } },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers 401 like API Gateway without a token, with an expired one and with a wrongly signed one', async () => {
    const headersFor = async (): Promise<Array<Record<string, string>>> => [
      {},
      { authorization: `Bearer ${await token({ aud: CLIENT_ID, exp: NOW_S - 1 })}` },
      { authorization: `Bearer ${await token({ aud: CLIENT_ID }, { key: otherKey })}` },
    ];
    for (const headers of await headersFor()) {
      const res = await fetch(`${server.url}/api/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ message: 'Unauthorized' });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    }
  });

  it('serves the data route with a valid token, and the page, assets and auth settings without one', async () => {
    const ok = await fetch(`${server.url}/api/metrics`, {
      headers: { authorization: `Bearer ${await token({ client_id: CLIENT_ID })}` },
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { metrics: Array<{ name: string }> }).metrics.map((m) => m.name)).toEqual(['m']);
    for (const path of ['/', '/api/assets/auth.js', '/api/assets/oauth4webapi.js'])
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    const config = await fetch(`${server.url}/api/auth-config`);
    expect(await config.json()).toEqual({ mode: 'JWT', issuer: ISSUER, clientId: CLIENT_ID, scopes: 'openid' });
  });
});
