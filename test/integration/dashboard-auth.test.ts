/**
 * Sign-in end to end in a real headless Chromium (playwright-core): the local read server with the JWT
 * check of `npm start -- --auth`, the local OIDC issuer (oauth2-mock-server on 127.0.0.1), the dashboard's
 * auth.js (oauth4webapi, authorization code + PKCE), over a real DynamoDB API (dynalite).
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { existsSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { generateKeyPair, SignJWT } from 'jose';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { compileConfig } from '../../src/core/metric-config.js';
import { JwtVerifier } from '../../src/local/auth/jwt-verifier.js';
import { startLocalIssuer, type LocalIssuer } from '../../src/local/auth/local-issuer.js';
import { startDynalite, type LocalServer } from '../../src/local/aws/servers.js';
import { startReadServer, type ReadServer } from '../../src/local/read-server.js';
import { createCountersTable, localDynamoClient } from '../helpers/counters-table.js';

/** The page's globals, as the callbacks below (run in the browser) use them; tsconfig has no DOM lib. */
declare const document: {
  getElementById(id: string): { hidden: boolean; textContent: string | null; options?: { length: number } } | null;
};
declare const sessionStorage: { setItem(k: string, v: string): void; getItem(k: string): string | null };

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
const WAIT_MS = 20_000;
const TABLE = 'counters-dashboard-auth-test';

const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing)
  console.log(`dashboard-auth.test.ts skipped: ${CHROMIUM} is missing (apt-get install -y chromium).`);

describe.skipIf(chromiumMissing)('dashboard sign-in in headless Chromium (local OIDC issuer)', () => {
  let dynalite: LocalServer;
  let client: DynamoDBClient;
  let issuer: LocalIssuer;
  let server: ReadServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Status of every /api/metrics response, and whether the request carried a bearer token. */
  let metricsCalls: Array<{ status: number; bearer: boolean }>;

  beforeAll(async () => {
    dynalite = await startDynalite();
    client = localDynamoClient(dynalite.endpoint);
    await createCountersTable(client, TABLE);
    issuer = await startLocalIssuer();
    server = await startReadServer({
      client,
      tableName: TABLE,
      metrics: compileConfig(
        { metrics: [{ name: 'page_views', dimensions: ['country'], aggregates: ['count'], windows: ['1m'] }] },
        'test',
      ),
      logger: new Logger({ logLevel: 'SILENT' }),
      auth: {
        verifier: new JwtVerifier({ issuer: issuer.issuer, audience: [issuer.clientId] }),
        settings: { mode: 'JWT', issuer: issuer.issuer, clientId: issuer.clientId, scopes: 'openid' },
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await issuer?.stop();
    client?.destroy();
    await dynalite?.stop();
  });

  beforeEach(async () => {
    await context?.close();
    context = await browser.newContext();
    page = await context.newPage();
    metricsCalls = [];
    page.on('response', (res) => {
      if (new URL(res.url()).pathname === '/api/metrics')
        metricsCalls.push({
          status: res.status(),
          bearer: /^Bearer /.test(res.request().headers().authorization ?? ''),
        });
    });
  });

  const signInPromptShown = (): Promise<unknown> =>
    page.waitForFunction(
      () => {
        const box = document.getElementById('signin');
        return box !== null && !box.hidden;
      },
      undefined,
      { timeout: WAIT_MS },
    );
  const promptText = (): Promise<string | null> =>
    page.evaluate(() => document.getElementById('signin-message')?.textContent ?? null);

  /** Opens the page with `token` already stored, as a tab that signed in earlier would have it. */
  async function openWithStoredToken(token: string): Promise<void> {
    await page.addInitScript(
      (t) => sessionStorage.setItem('streamtally.token', JSON.stringify({ accessToken: t })),
      token,
    );
    await page.goto(`${server.url}/`);
  }

  it('without a token: the API answers 401 and the page shows the sign-in prompt, not a broken dashboard', async () => {
    await page.goto(`${server.url}/`);
    await signInPromptShown();
    expect(metricsCalls).toContainEqual({ status: 401, bearer: false });
    expect(metricsCalls.some((c) => c.status === 200)).toBe(false);
    expect(await promptText()).toBe('Sign in to see the counters.');
  });

  it('signs in through the local issuer (code + PKCE) and then sees the dashboard', async () => {
    // Prepare
    await page.goto(`${server.url}/`);
    await signInPromptShown();
    const authorizeRequests: string[] = [];
    const tokenRequests: string[] = [];
    page.on('request', (req) => {
      if (req.url().startsWith(`${issuer.issuer}/authorize`)) authorizeRequests.push(req.url());
      if (req.url().startsWith(`${issuer.issuer}/token`)) tokenRequests.push(req.postData() ?? '');
    });
    // Act
    await page.click('#signin-button');
    await page.waitForFunction(() => (document.getElementById('metric')?.options?.length ?? 0) > 0, undefined, {
      timeout: WAIT_MS,
    });
    // Assess: the flow was authorization code with an S256 challenge and a verifier, and no secret.
    expect(authorizeRequests).toHaveLength(1);
    const authorize = new URL(authorizeRequests[0]);
    expect(authorize.searchParams.get('response_type')).toBe('code');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('client_id')).toBe(issuer.clientId);
    const exchange = new URLSearchParams(tokenRequests[0]);
    expect(exchange.get('grant_type')).toBe('authorization_code');
    expect(exchange.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(exchange.get('client_secret')).toBeNull();
    // The dashboard loaded its data with the token; the prompt is gone and the URL has no code left in it.
    expect(metricsCalls.at(-1)).toEqual({ status: 200, bearer: true });
    expect(await page.evaluate(() => document.getElementById('signin')?.hidden ?? true)).toBe(true);
    expect(new URL(page.url()).search).toBe('');
    expect(await page.evaluate(() => document.getElementById('error')?.hidden)).toBe(true);
  });

  it('with an expired token: 401 and the sign-in prompt', async () => {
    await openWithStoredToken(await issuer.mintAccessToken({ expiresInSeconds: -60 }));
    await signInPromptShown();
    expect(metricsCalls).toContainEqual({ status: 401, bearer: true });
    expect(metricsCalls.some((c) => c.status === 200)).toBe(false);
    expect(await promptText()).toMatch(/expired or is not valid/);
  });

  it('with a token signed by another key: 401 and the sign-in prompt', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ iss: issuer.issuer, client_id: issuer.clientId, sub: 'mallory' })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    await openWithStoredToken(forged);
    await signInPromptShown();
    expect(metricsCalls).toContainEqual({ status: 401, bearer: true });
    expect(metricsCalls.some((c) => c.status === 200)).toBe(false);
  });

  it('a valid token minted by the issuer is accepted (the refusals above are about the token)', async () => {
    await openWithStoredToken(await issuer.mintAccessToken());
    await page.waitForFunction(() => (document.getElementById('metric')?.options?.length ?? 0) > 0, undefined, {
      timeout: WAIT_MS,
    });
    // Every script of the page (app.js, levels.js) asks through the sign-in hook: each call carries the token.
    expect(metricsCalls.length).toBeGreaterThan(0);
    expect(metricsCalls.filter((c) => c.status !== 200 || !c.bearer)).toEqual([]);
  });
});
