// A real OpenID Provider (panva's oidc-provider) for idbroker's tests, on 127.0.0.1 only.
// Prints "READY <port>" when it listens. Test-only routes beside the OP's own:
//   GET  /test/id-token?sub=alice  an ID token from a scripted authorization code flow
//                                  (devInteractions login + consent, PKCE, client_secret_basic)
//   GET  /test/cc-token            a JWT access token from the client credentials grant
//   POST /test/rotate              a new signing key (new kid) first, the old one kept
//   POST /test/drop-old            only the newest key left in the JWKS
// Keys are made at start; nothing is written to disk. Development and tests only.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

const CLIENT_ID = 'idbroker-test';
const CLIENT_SECRET = 'test-secret-not-for-production';
const REDIRECT = 'http://127.0.0.1/cb';

let keys = [];
function newKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `k${keys.length + 1}-${crypto.randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.OP_PORT || 0), '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

function makeProvider() {
  const p = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['authorization_code', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: [REDIRECT],
    },
    // idbroker's console login (tests/console_e2e.rs), when its redirect URI is given.
    ...(process.env.CONSOLE_REDIRECT_URI ? [{
      client_id: 'idbroker-console',
      client_secret: 'console-secret-not-for-production',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [process.env.CONSOLE_REDIRECT_URI],
    }] : [])],
    jwks: { keys },
    cookies: { keys: ['idbroker-test-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
    conformIdTokenClaims: false,
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: `${id}@example.com`, email_verified: true, groups: ['deployers', 'eng-platform'] };
        },
      };
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:idbroker:sts',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'sts',
          audience: CLIENT_ID,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    pkce: { required: () => true },
  });
  p.on('server_error', (ctx, err) => console.error('op server_error', err));
  return p;
}

keys.push(newKey());
let provider = makeProvider();

// A minimal cookie jar: the OP's cookies are distinct by name.
class Jar {
  constructor() { this.cookies = new Map(); }
  take(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
}

async function step(jar, url, init = {}) {
  const res = await fetch(new URL(url, issuer), {
    ...init, redirect: 'manual', headers: { ...(init.headers || {}), cookie: jar.header() },
  });
  jar.take(res);
  return res;
}

const form = (o) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(o).toString(),
});
const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;

async function idToken(sub) {
  const jar = new Jar();
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  const auth = new URL('/auth', issuer);
  auth.search = new URLSearchParams({
    client_id: CLIENT_ID, response_type: 'code', scope: 'openid email groups', redirect_uri: REDIRECT,
    nonce: crypto.randomBytes(8).toString('hex'), state: 's', code_challenge: challenge, code_challenge_method: 'S256',
  }).toString();
  let res = await step(jar, auth);
  for (let i = 0; i < 10; i += 1) {
    const loc = res.headers.get('location');
    if (!loc) throw new Error(`no redirect (status ${res.status}): ${await res.text()}`);
    const next = new URL(loc, issuer);
    if (next.href.startsWith(REDIRECT)) {
      const code = next.searchParams.get('code');
      if (!code) throw new Error(`no code: ${next}`);
      const tok = await fetch(new URL('/token', issuer), {
        ...form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
      });
      const body = await tok.json();
      if (!body.id_token) throw new Error(`token endpoint: ${JSON.stringify(body)}`);
      return body.id_token;
    }
    if (next.pathname.startsWith('/interaction/')) {
      const page = await step(jar, next);
      const html = await page.text();
      const prompt = html.includes('name="login"') ? 'login' : 'consent';
      const fields = prompt === 'login' ? { prompt, login: sub, password: 'any' } : { prompt };
      res = await step(jar, next.pathname, form(fields));
    } else {
      res = await step(jar, next);
    }
  }
  throw new Error('too many redirects');
}

async function ccToken() {
  const tok = await fetch(new URL('/token', issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'sts' }).toString(),
  });
  const body = await tok.json();
  if (!body.access_token) throw new Error(`client credentials: ${JSON.stringify(body)}`);
  return body.access_token;
}

server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  const json = (status, o) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(o)); };
  try {
    if (url.pathname === '/test/id-token') return json(200, { token: await idToken(url.searchParams.get('sub') || 'alice') });
    if (url.pathname === '/test/cc-token') return json(200, { token: await ccToken() });
    if (url.pathname === '/test/rotate' && req.method === 'POST') {
      keys = [newKey(), ...keys];
      provider = makeProvider();
      return json(200, { kid: keys[0].kid });
    }
    if (url.pathname === '/test/drop-old' && req.method === 'POST') {
      keys = [keys[0]];
      provider = makeProvider();
      return json(200, { kid: keys[0].kid });
    }
  } catch (e) {
    return json(500, { error: String(e && e.stack || e) });
  }
  return provider.callback()(req, res);
});

console.log(`READY ${port}`);
process.on('SIGTERM', () => process.exit(0));
// Exit when the test that started it goes away (stdin closes).
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
