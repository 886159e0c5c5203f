// Drives idbroker's web console in headless Chromium (Debian's /usr/bin/chromium, through
// playwright-core) for tests/console_e2e.rs. One scenario per run:
//   node tests/browser/run.mjs SCENARIO
// Env: IDB_URL (idbroker), IDP_URL (tests/browser/idp.py), OP_URL (tests/oidc/op/op.mjs),
// SHOT_DIR (a screenshot of the page when a step fails), DOC_SHOTS (optional: where the
// picker and landing screenshots of docs/img are written). Every wait is bounded. Exit 0 when
// every check passed; otherwise the failed check, the URL and the page's text, and exit 1.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import crypto from 'node:crypto';

const { IDB_URL, IDP_URL, OP_URL } = process.env;
const SHOT_DIR = process.env.SHOT_DIR || os.tmpdir();
const DOC_SHOTS = process.env.DOC_SHOTS || '';
const scenario = process.argv[2];
const ACS = `${IDB_URL}/saml/acs`;
const ACCOUNT = '111122223333';
const arnOf = (role, name) => `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${name}`;

class Check extends Error {}
function check(cond, what) {
  if (!cond) throw new Check(what);
  console.log(`ok: ${what}`);
}

const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'idbroker-chromium-'));
const context = await chromium.launchPersistentContext(userData, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
  viewport: { width: 1000, height: 760 },
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(15000);
page.setDefaultNavigationTimeout(15000);

async function text(sel) {
  return ((await page.textContent(sel)) || '').trim();
}

async function landing(expectArn) {
  await page.waitForSelector('#arn');
  check((await text('#arn')) === expectArn, `landing page shows ${expectArn}`);
  check((await text('#cli-env')).includes('export AWS_ACCESS_KEY_ID=ASIA'), 'CLI export lines');
  check((await text('#cli-file')).includes('aws_session_token = '), 'credentials-file snippet');
  const r = await page.reload();
  check((r.headers()['cache-control'] || '').includes('no-store'), 'landing page is no-store');
  check((r.headers()['content-security-policy'] || '').includes("frame-ancestors 'none'"), 'CSP frame-ancestors none');
  const c = (await context.cookies()).find((x) => x.name === 'idb_console');
  check(c && c.httpOnly && c.sameSite === 'Lax', 'idb_console cookie is HttpOnly, SameSite=Lax');
}

async function idpInitiated(user, extra = '') {
  await page.goto(`${IDP_URL}/idp-initiated?user=${user}&acs=${encodeURIComponent(ACS)}${extra}`);
}

async function shot(name, width, height) {
  if (!DOC_SHOTS) return;
  await page.setViewportSize({ width, height });
  await page.screenshot({ path: path.join(DOC_SHOTS, name), fullPage: true });
  await page.setViewportSize({ width: 1000, height: 760 });
}

async function errorPage(code) {
  await page.waitForSelector('main#error');
  const got = await page.getAttribute('main#error', 'data-code');
  check(got === code, `error page ${code} (got ${got})`);
  check((await text('#request-id')).length > 20, 'error page shows a request id');
}

// Credentials from the SAML path without a browser: the IdP's form, then AssumeRoleWithSAML.
async function samlCredentials(user, role) {
  const html = await (await fetch(`${IDP_URL}/idp-initiated?user=${user}&acs=${encodeURIComponent(ACS)}`)).text();
  const m = html.match(/name="SAMLResponse" value="([^"]*)"/);
  const assertion = m[1].replace(/&#x27;|&quot;|&amp;|&lt;|&gt;/g, (e) => ({ '&#x27;': "'", '&quot;': '"', '&amp;': '&', '&lt;': '<', '&gt;': '>' }[e]));
  const body = new URLSearchParams({
    Action: 'AssumeRoleWithSAML', Version: '2011-06-15',
    RoleArn: `arn:aws:iam::${ACCOUNT}:role/console/${role}`,
    PrincipalArn: `arn:aws:iam::${ACCOUNT}:saml-provider/TestIdP`, SAMLAssertion: assertion,
  });
  const xml = await (await fetch(`${IDB_URL}/`, { method: 'POST', body })).text();
  const get = (tag) => (xml.match(new RegExp(`<${tag}>([^<]*)</${tag}>`)) || [])[1];
  if (!get('AccessKeyId')) throw new Check(`AssumeRoleWithSAML failed: ${xml}`);
  return { sessionId: get('AccessKeyId'), sessionKey: get('SecretAccessKey'), sessionToken: get('SessionToken') };
}

async function signinToken(creds) {
  const r = await fetch(`${IDB_URL}/federation?Action=getSigninToken&Session=${encodeURIComponent(JSON.stringify(creds))}`);
  const j = await r.json();
  if (!j.SigninToken) throw new Check(`getSigninToken: ${JSON.stringify(j)}`);
  return j.SigninToken;
}

const loginUrl = (token, dest) => `${IDB_URL}/federation?Action=login&Issuer=${encodeURIComponent('https://portal.example.com/')}`
  + `&Destination=${encodeURIComponent(dest)}&SigninToken=${encodeURIComponent(token)}`;

// RFC 6238 (HMAC-SHA-1, 6 digits, 30 s) with node's crypto: the MFA code of a Base32 seed now,
// independently of idbroker's own implementation.
function totp(base32) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of base32.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const off = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(off) & 0x7fffffff) % 1000000;
  return String(n).padStart(6, '0');
}

// An IAM user's sign-in form (tests/console_password_e2e.rs: PW_ACCOUNT).
async function passwordSignIn(user, password, shotName) {
  await page.goto(`${IDB_URL}/console/signin/password`);
  await page.waitForSelector('main#password-signin');
  await page.fill('#account', process.env.PW_ACCOUNT);
  await page.fill('#username', user);
  await page.fill('#password', password);
  if (shotName) await shot(shotName, 820, 640);
  await Promise.all([page.waitForLoadState('load'), page.click('#signin')]);
}

const scenarios = {
  // (a) IdP-initiated SAML, two roles -> picker -> landing page.
  async 'saml-idp-picker'() {
    await idpInitiated('alice');
    await page.waitForURL(/\/console\/roles$/);
    check(await page.isVisible('#role-Admin') && await page.isVisible('#role-ReadOnly'), 'picker lists Admin and ReadOnly');
    check((await page.textContent('main')).includes('Reads the quarterly reports'), 'picker shows role descriptions');
    check((await page.textContent('legend')).includes(ACCOUNT), 'roles grouped by account');
    await shot('console-picker.png', 820, 640);
    // Keyboard: the labelled radio can be chosen and the form sent without a mouse.
    await page.focus('#role-ReadOnly');
    await page.keyboard.press('Space');
    check(await page.isChecked('#role-ReadOnly'), 'role chosen with the keyboard');
    await page.click('#continue');
    await landing(arnOf('ReadOnly', 'alice@example.com'));
    check((await text('#source-identity')) === 'alice', 'source identity shown');
    await shot('console-landing.png', 820, 900);
    if (DOC_SHOTS) {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: path.join(DOC_SHOTS, 'console-landing-phone.png'), fullPage: false });
    }
  },
  // (b) SP-initiated SAML: idbroker's sign-in page -> IdP login -> straight in (one role).
  async 'saml-sp'() {
    await page.goto(`${IDB_URL}/console/signin`);
    await page.click('#signin-saml-TestIdP');
    await page.waitForSelector('#login-bob');
    check(page.url().startsWith(`${IDP_URL}/sso/redirect?SAMLRequest=`), 'redirected to the IdP with an AuthnRequest');
    // The IdP (pysaml2, want_authn_requests_signed) checked the signature with the key of
    // idbroker's SP metadata: the same request with the signature changed, or without it, fails.
    const signed = new URL(page.url());
    check(signed.searchParams.get('SigAlg') === 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'AuthnRequest signed with RSA-SHA256');
    const sig = signed.searchParams.get('Signature');
    const tampered = new URL(signed);
    tampered.searchParams.set('Signature', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    check((await (await fetch(tampered)).text()).includes('IncorrectlySigned'), 'the IdP refuses a changed signature');
    const unsigned = new URL(signed);
    unsigned.searchParams.delete('Signature');
    unsigned.searchParams.delete('SigAlg');
    check((await (await fetch(unsigned)).text()).includes('IncorrectlySigned'), 'the IdP refuses the request unsigned');
    await page.click('#login-bob');
    await landing(arnOf('ReadOnly', 'bob@example.com'));
  },
  // (c) OIDC login against oidc-provider's dev interactions.
  async oidc() {
    await page.goto(`${IDB_URL}/console/signin`);
    await page.click('#signin-oidc-TestOP');
    for (let i = 0; i < 6 && !page.url().startsWith(IDB_URL); i += 1) {
      await page.waitForSelector('button[type=submit], #arn, main#error');
      if (page.url().startsWith(IDB_URL)) break;
      if (await page.$('input[name=login]')) {
        check(page.url().startsWith(OP_URL), 'at the OpenID Provider login page');
        await page.fill('input[name=login]', 'dave');
        await page.fill('input[name=password]', 'any');
      }
      await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
    }
    await landing(arnOf('ReadOnly', 'dave@example.com'));
  },
  // Command-line sign-in (tests/cli_login_e2e.rs): CLI_URL is what `idbroker login
  // --no-browser` printed; the person signs in at the IdP as CLI_USER and the browser lands on
  // the CLI's loopback listener.
  async 'cli-saml'() {
    await page.goto(process.env.CLI_URL);
    const user = process.env.CLI_USER || 'bob';
    await page.waitForSelector(`#login-${user}`);
    check(page.url().startsWith(`${IDP_URL}/sso/redirect?SAMLRequest=`), 'at the IdP with an AuthnRequest');
    await page.click(`#login-${user}`);
    await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/idbroker\/callback\?/);
    check((await page.textContent('body')).includes('Signed in'), 'the CLI\'s page says signed in');
  },
  async 'cli-oidc'() {
    await page.goto(process.env.CLI_URL);
    const loopback = /^http:\/\/127\.0\.0\.1:\d+\/idbroker\/callback\?/;
    for (let i = 0; i < 6 && !loopback.test(page.url()); i += 1) {
      await page.waitForSelector('button[type=submit], main#error, body');
      if (loopback.test(page.url())) break;
      if (await page.$('main#error')) throw new Check(`error page: ${await text('main#error')}`);
      if (await page.$('input[name=login]')) {
        check(page.url().startsWith(OP_URL), 'at the OpenID Provider login page');
        await page.fill('input[name=login]', process.env.CLI_USER || 'dave');
        await page.fill('input[name=password]', 'any');
      }
      await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
    }
    check(loopback.test(page.url()), 'at the CLI\'s loopback listener');
    check((await page.textContent('body')).includes('Signed in'), 'the CLI\'s page says signed in');
  },
  // The device flow, in a browser of its own: DEVICE_URL (verification_uri_complete) shows the
  // code DEVICE_CODE; the person confirms it and signs in at the IdP.
  async 'cli-device'() {
    await page.goto(process.env.DEVICE_URL);
    await page.waitForSelector('main#device');
    check((await page.inputValue('#user_code')) === process.env.DEVICE_CODE, 'the code is filled in');
    await page.click('#continue');
    await page.waitForSelector('main#device-go');
    check((await text('#user-code')) === process.env.DEVICE_CODE, 'the code is accepted');
    await page.click('#signin');
    const user = process.env.CLI_USER || 'bob';
    await page.waitForSelector(`#login-${user}`);
    await page.click(`#login-${user}`);
    await page.waitForSelector('main#device-done');
    check((await text('#user-code')) === process.env.DEVICE_CODE, 'the signed-in page names the code');
    // The same code a second time: refused.
    await page.goto(process.env.DEVICE_URL);
    await page.click('#continue');
    await errorPage('bad_request');
  },
  // (d) Federation endpoint round trip, single use, destination restricted.
  async federation() {
    const creds = await samlCredentials('bob', 'ReadOnly');
    const token = await signinToken(creds);
    await page.goto(loginUrl(token, `${IDB_URL}/console`));
    await landing(arnOf('ReadOnly', 'bob@example.com'));
    await page.goto(loginUrl(token, `${IDB_URL}/console`));
    await errorPage('signin_token');
    const fresh = await signinToken(creds);
    await page.goto(loginUrl(fresh, 'https://evil.example/'));
    await errorPage('destination');
    check(page.url().startsWith(IDB_URL), 'no redirect to a destination that is not allowed');
  },
  // (e) Sign-out, then the back button shows the signed-out page, not the credentials.
  async 'signout-back'() {
    await idpInitiated('bob');
    await landing(arnOf('ReadOnly', 'bob@example.com'));
    await page.click('#signout');
    await page.waitForSelector('#signed-out');
    await page.goBack();
    await page.waitForSelector('#signed-out');
    check(!(await page.textContent('body')).includes('AWS_SECRET_ACCESS_KEY'), 'back button shows no credentials');
    await page.goto(`${IDB_URL}/console`);
    await page.waitForSelector('#signed-out');
    check(true, 'reloading the console shows signed-out');
  },
  // IAM users (tests/console_password_e2e.rs): one answer for a wrong password and an unknown
  // user; password then MFA code; a forced change; throttling after repeated failures.
  async password() {
    const { PW_PASSWORD, PW_SEED, PW_ACCOUNT } = process.env;
    await passwordSignIn('carol', 'Wrong-Password-9');
    const wrong = await text('#signin-error');
    await passwordSignIn('nobody', PW_PASSWORD);
    const unknown = await text('#signin-error');
    check(wrong === unknown && wrong.includes('incorrect'), `one answer for a wrong password and an unknown user (${wrong})`);
    check((await page.inputValue('#password')) === '', 'the password is not sent back');

    await passwordSignIn('carol', PW_PASSWORD, 'console-password.png');
    await page.waitForSelector('main#password-mfa');
    check((await text('#who')) === 'carol', 'the MFA step names the user');
    await page.fill('#code', '000000' === totp(PW_SEED) ? '000001' : '000000');
    await Promise.all([page.waitForLoadState('load'), page.click('#verify')]);
    check((await text('#signin-error')).includes('not valid'), 'a wrong code is refused, the form stays');
    await page.fill('#code', totp(PW_SEED));
    await shot('console-password-mfa.png', 820, 560);
    await Promise.all([page.waitForLoadState('load'), page.click('#verify')]);
    await landing(`arn:aws:iam::${PW_ACCOUNT}:user/carol`);
    await page.click('#signout');
    await page.waitForSelector('#signed-out');

    await passwordSignIn('dave', PW_PASSWORD);
    await page.waitForSelector('main#password-change');
    check((await page.textContent('main')).includes('at least 12 characters'), 'the change form states the policy');
    await page.fill('#new_password', 'Short-1');
    await page.fill('#confirm_password', 'Short-1');
    await Promise.all([page.waitForLoadState('load'), page.click('#change')]);
    check((await text('#signin-error')).includes('at least 12'), 'a password the policy refuses comes back with why');
    await page.fill('#new_password', 'Dave-New-Password-7');
    await page.fill('#confirm_password', 'Dave-New-Password-7');
    await shot('console-password-change.png', 820, 640);
    await Promise.all([page.waitForLoadState('load'), page.click('#change')]);
    await landing(`arn:aws:iam::${PW_ACCOUNT}:user/dave`);
    await page.click('#signout');
    await page.waitForSelector('#signed-out');

    for (let i = 0; i < 10; i += 1) {
      await passwordSignIn('erin', `Wrong-Password-${i}`);
      check((await text('#signin-error')).includes('incorrect'), `wrong password ${i + 1} refused`);
    }
    await passwordSignIn('erin', PW_PASSWORD);
    await errorPage('throttled');
    await shot('console-password-throttled.png', 820, 560);
  },
  // (f) Error pages: an expired assertion, no allowed role.
  async errors() {
    await idpInitiated('alice', '&expired=1');
    await errorPage('expired_assertion');
    await idpInitiated('carol');
    await errorPage('no_role');
    check((await page.textContent('main#error')).includes('Ask your administrator'), 'the page says what to do');
  },
};

let code = 0;
try {
  const run = scenarios[scenario];
  if (!run) throw new Check(`unknown scenario ${scenario}`);
  await run();
  console.log(`PASS ${scenario}`);
} catch (e) {
  code = 1;
  console.log(`FAIL ${scenario}: ${e instanceof Check ? e.message : (e && e.stack) || e}`);
  console.log(`url: ${page.url()}`);
  try {
    console.log(`page: ${((await page.textContent('body')) || '').replace(/\s+/g, ' ').slice(0, 1500)}`);
    fs.mkdirSync(SHOT_DIR, { recursive: true });
    const file = path.join(SHOT_DIR, `${scenario}-failure.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot: ${file}`);
  } catch (e2) {
    console.log(`(no screenshot: ${e2})`);
  }
}
await context.close();
fs.rmSync(userData, { recursive: true, force: true });
process.exit(code);
