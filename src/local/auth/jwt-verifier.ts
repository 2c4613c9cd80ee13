/**
 * The local stand-in for API Gateway's HTTP API JWT authorizer (template.yaml: ReadApiAuthorizer), used by
 * the local read server under `npm start -- --auth`. Deployed, API Gateway does this check and the read
 * function never sees a request without a valid token; nothing here runs in Lambda.
 *
 * The same rules as the authorizer (API Gateway developer guide, "Controlling access to HTTP APIs with JWT
 * authorizers"): the token comes from the Authorization header (a `Bearer ` prefix is optional); its
 * signature must verify against the issuer's JWKS (found through the issuer's
 * `/.well-known/openid-configuration`), RSA algorithms only; `iss` must equal the issuer; `aud` must match
 * one of the audiences, or, when the token has no `aud` (Cognito access tokens), `client_id` must; `exp`
 * and `nbf` must hold now. Signature and claims are checked by `jose` (panva), not by hand.
 * @example
 * const verifier = new JwtVerifier({ issuer: 'http://127.0.0.1:9000', audience: ['streamtally-local'] });
 * const claims = await verifier.verify(req.headers.authorization); // throws JwtRejectedError
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

/** The algorithms API Gateway's JWT authorizer accepts. */
export const AUTHORIZER_ALGORITHMS = ['RS256', 'RS384', 'RS512'];

export class JwtRejectedError extends Error {
  override name = 'JwtRejectedError';
  constructor(
    /** Short reason for the WWW-Authenticate header and the log: `missing`, `expired`, `signature`, ... */
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface JwtVerifierOptions {
  issuer: string;
  /** Accepted `aud` values (or `client_id`, for tokens without `aud`). */
  audience: ReadonlyArray<string>;
  /** Keys; default: the JWKS named by the issuer's discovery document, fetched once and cached by jose. */
  keys?: JWTVerifyGetKey;
  /** Now, in epoch milliseconds (tests); default Date.now. */
  clock?: () => number;
}

export class JwtVerifier {
  private keys: JWTVerifyGetKey | undefined;
  private readonly issuer: string;
  private readonly audience: ReadonlySet<string>;
  private readonly clock: () => number;

  constructor(options: JwtVerifierOptions) {
    if (options.audience.length === 0) throw new Error('JwtVerifier needs at least one audience (the client id).');
    this.issuer = options.issuer;
    this.audience = new Set(options.audience);
    this.keys = options.keys;
    this.clock = options.clock ?? Date.now;
  }

  /** Verifies the Authorization header's token; resolves to its claims or throws {@link JwtRejectedError}. */
  async verify(authorization: string | undefined): Promise<JWTPayload> {
    const token = authorization?.replace(/^Bearer\s+/i, '').trim();
    if (!token) throw new JwtRejectedError('missing', 'No bearer token in the Authorization header.');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.keySource(), {
        issuer: this.issuer,
        algorithms: AUTHORIZER_ALGORITHMS,
        currentDate: new Date(this.clock()),
      }));
    } catch (err) {
      throw rejection(err);
    }
    const aud = payload.aud === undefined ? undefined : [payload.aud].flat();
    const accepted =
      aud !== undefined
        ? aud.some((a) => this.audience.has(a))
        : typeof payload.client_id === 'string' && this.audience.has(payload.client_id);
    if (!accepted)
      throw new JwtRejectedError(
        'audience',
        `The token's ${aud !== undefined ? 'aud' : 'client_id'} is not one of the accepted audiences.`,
      );
    return payload;
  }

  private async keySource(): Promise<JWTVerifyGetKey> {
    if (this.keys) return this.keys;
    const discovery = new URL(
      '.well-known/openid-configuration',
      this.issuer.endsWith('/') ? this.issuer : `${this.issuer}/`,
    );
    const res = await fetch(discovery);
    if (!res.ok)
      throw new JwtRejectedError('issuer', `The issuer's discovery document ${discovery.href} answered ${res.status}.`);
    const doc = (await res.json()) as { jwks_uri?: unknown };
    if (typeof doc.jwks_uri !== 'string')
      throw new JwtRejectedError('issuer', `The issuer's discovery document ${discovery.href} has no jwks_uri.`);
    this.keys = createRemoteJWKSet(new URL(doc.jwks_uri));
    return this.keys;
  }
}

function rejection(err: unknown): JwtRejectedError {
  if (err instanceof JwtRejectedError) return err;
  const options = { cause: err };
  if (err instanceof errors.JWTExpired) return new JwtRejectedError('expired', 'The token has expired.', options);
  if (err instanceof errors.JWTClaimValidationFailed)
    return new JwtRejectedError(err.claim, `The token's ${err.claim} claim is not valid: ${err.reason}.`, options);
  if (err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey)
    return new JwtRejectedError('signature', 'The token is not signed by the issuer.', options);
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new JwtRejectedError(
      'algorithm',
      'The token is signed with an algorithm the authorizer does not accept.',
      options,
    );
  return new JwtRejectedError('malformed', `The token cannot be read: ${(err as Error).message}`, options);
}
