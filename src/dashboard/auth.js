/* streamtally dashboard sign-in: OpenID Connect authorization code flow with PKCE, public client (no secret).
 * The protocol work (discovery, PKCE, state, the code exchange, ID token claim checks) is oauth4webapi's
 * (panva, zero dependencies), served beside this file as api/assets/oauth4webapi.js.
 * app.js calls window.streamtallyAuth.fetch for every API request; it adds the access token as a Bearer
 * header and, on a 401, drops the token and shows the sign-in prompt. With /api/auth-config mode NONE
 * (`npm start`, ReadApiAuth=NONE) requests go out as they are. */
/* global document, window, location, history, sessionStorage, Headers */
'use strict';

(function auth() {
  // A classic script, so that it runs before app.js; the library (an ES module) is loaded with import().
  const oauthModule = import('./oauth4webapi.js');
  let oauth = null;

  const TOKEN_KEY = 'streamtally.token';
  const FLOW_KEY = 'streamtally.signin';

  /** The page's own URL without query or hash: the redirect URI registered with the issuer. */
  const redirectUri = location.origin + location.pathname;
  let settings = { mode: 'NONE' };
  let server = null;

  function storedToken() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || 'null');
      return saved && typeof saved.accessToken === 'string' ? saved.accessToken : null;
    } catch {
      return null;
    }
  }

  function insecure(url) {
    // Only the local issuer of `npm start -- --auth` is plain http (127.0.0.1); anything else must be https.
    return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === 'localhost');
  }

  async function discover() {
    const issuer = new URL(settings.issuer);
    const options = insecure(issuer) ? { [oauth.allowInsecureRequests]: true } : {};
    const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...options });
    server = { as: await oauth.processDiscoveryResponse(issuer, response), options };
    return server;
  }

  /** Back from the issuer with ?code=...&state=...: exchange the code (with the PKCE verifier) for tokens. */
  async function completeSignIn(url) {
    const flow = JSON.parse(sessionStorage.getItem(FLOW_KEY) || 'null');
    sessionStorage.removeItem(FLOW_KEY);
    if (!flow) throw new Error('sign-in response without a sign-in in progress');
    const { as, options } = server || (await discover());
    const client = { client_id: settings.clientId };
    const params = oauth.validateAuthResponse(as, client, url, flow.state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      redirectUri,
      flow.verifier,
      options,
    );
    const result = await oauth.processAuthorizationCodeResponse(as, client, response);
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ accessToken: result.access_token }));
    history.replaceState(null, '', redirectUri + (flow.hash || ''));
  }

  async function signIn() {
    const { as } = server || (await discover());
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    sessionStorage.setItem(FLOW_KEY, JSON.stringify({ verifier, state, hash: location.hash }));
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', settings.clientId);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', settings.scopes || 'openid');
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', state);
    location.assign(url.href);
  }

  function showSignInPrompt(message) {
    let box = document.getElementById('signin');
    if (!box) {
      box = document.createElement('div');
      box.id = 'signin';
      box.setAttribute('role', 'dialog');
      box.setAttribute('aria-modal', 'true');
      box.style.cssText =
        'position:fixed;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:1rem;background:rgba(248,250,252,.96);z-index:10;font:16px system-ui,sans-serif';
      const text = document.createElement('p');
      text.id = 'signin-message';
      const button = document.createElement('button');
      button.id = 'signin-button';
      button.type = 'button';
      button.textContent = 'Sign in';
      button.style.cssText = 'font:inherit;padding:.5rem 1.5rem;cursor:pointer';
      button.addEventListener('click', () => {
        signIn().catch((err) => (text.textContent = 'Sign-in failed: ' + err.message));
      });
      box.append(text, button);
      document.body.append(box);
    }
    document.getElementById('signin-message').textContent = message;
    box.hidden = false;
  }

  async function init() {
    oauth = await oauthModule;
    const res = await fetch('api/auth-config', { cache: 'no-store' });
    if (res.ok) settings = await res.json();
    if (settings.mode !== 'JWT') return;
    const url = new URL(location.href);
    if (url.searchParams.has('code') || url.searchParams.has('error')) {
      try {
        await completeSignIn(url);
      } catch (err) {
        history.replaceState(null, '', redirectUri + location.hash);
        showSignInPrompt('Sign-in did not complete (' + err.message + '). Try again.');
      }
    }
  }

  const ready = init().catch((err) => showSignInPrompt('Sign-in is unavailable: ' + err.message));

  /** fetch, with the access token as a Bearer header; a 401 drops the token and shows the sign-in prompt. */
  async function authFetch(input, init) {
    await ready;
    const token = settings.mode === 'JWT' ? storedToken() : null;
    const headers = new Headers((init && init.headers) || {});
    if (token) headers.set('authorization', 'Bearer ' + token);
    const res = await fetch(input, { ...init, headers });
    if (res.status === 401 && settings.mode === 'JWT') {
      sessionStorage.removeItem(TOKEN_KEY);
      showSignInPrompt(
        token ? 'Your session has expired or is not valid. Sign in again.' : 'Sign in to see the counters.',
      );
    }
    return res;
  }

  window.streamtallyAuth = { fetch: authFetch, signIn, ready };
})();
