/**
 * A local OpenID Connect issuer for `npm start -- --auth` and the browser test: `oauth2-mock-server` on
 * 127.0.0.1, signing RS256 tokens with a key made at start. It stands in for the Cognito hosted sign-in:
 * its authorize endpoint signs in a fixed local user (sub `johndoe`) without a password form.
 *
 * Made stricter than the mock's defaults, like Cognito with a public client: the code exchange must carry a
 * PKCE `code_verifier` and this client's id, and the access token carries `client_id` and no `aud` (the
 * shape of a Cognito access token, which API Gateway's JWT authorizer matches against its audience).
 * @example
 * const issuer = await startLocalIssuer();
 * console.log(issuer.issuer, issuer.clientId); await issuer.stop();
 */
import { OAuth2Server } from 'oauth2-mock-server';
import { LOOPBACK } from '../aws/servers.js';

export const LOCAL_CLIENT_ID = 'streamtally-local';

export interface LocalIssuer {
  /** Issuer URL (`iss`), e.g. http://127.0.0.1:PORT */
  readonly issuer: string;
  readonly clientId: string;
  /**
   * An access token as the sign-in would issue it (for curl, and tests); a negative `expiresInSeconds`
   * gives an expired one.
   */
  mintAccessToken(options?: { expiresInSeconds?: number }): Promise<string>;
  stop(): Promise<void>;
}

interface TokenRequest {
  body?: Record<string, string | undefined>;
}

export async function startLocalIssuer(options: { port?: number; clientId?: string } = {}): Promise<LocalIssuer> {
  const clientId = options.clientId ?? LOCAL_CLIENT_ID;
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
    token.payload.client_id = clientId;
  });
  server.service.on(
    'beforeResponse',
    (response: { statusCode: number; body: Record<string, unknown> }, req: TokenRequest) => {
      const body = req.body ?? {};
      if (body.grant_type !== 'authorization_code') return;
      if (body.client_id !== clientId) {
        response.statusCode = 401;
        response.body = { error: 'invalid_client', error_description: `unknown client_id ${String(body.client_id)}` };
      } else if (!body.code_verifier) {
        response.statusCode = 400;
        response.body = { error: 'invalid_grant', error_description: 'PKCE code_verifier required' };
      } else {
        delete response.body.refresh_token; // the dashboard signs in again instead
      }
    },
  );
  await server.start(options.port ?? 0, LOOPBACK);
  // The mock names itself http://localhost:PORT; `localhost` may resolve to ::1, where nothing listens.
  const issuer = `http://${LOOPBACK}:${server.address().port}`;
  server.issuer.url = issuer;
  return {
    issuer,
    clientId,
    mintAccessToken: ({ expiresInSeconds = 3600 } = {}) =>
      server.issuer.buildToken({
        expiresIn: expiresInSeconds,
        scopesOrTransform: (_header, payload) =>
          Object.assign(payload, { sub: 'johndoe', client_id: clientId, scope: 'openid' }),
      }),
    stop: () => server.stop(),
  };
}
