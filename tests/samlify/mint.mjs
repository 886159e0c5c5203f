// Mints an IdP-initiated SAML response with samlify (xml-crypto signer), as a samlify IdP sends
// it: `InResponseTo=""` on the Response and in the signed SubjectConfirmationData. Offline; the
// key and certificate come from the caller.
// Usage: node mint.mjs KEY_PEM CERT_PEM ISSUER ACS ROLE_ARN PROVIDER_ARN NAME_ID
// Prints the base64 SAMLResponse.
import { readFileSync } from 'node:fs';
import samlify from 'samlify';

const [keyPath, certPath, issuer, acs, role, provider, nameId] = process.argv.slice(2);
const key = readFileSync(keyPath, 'utf8');
const cert = readFileSync(certPath, 'utf8');

const attributes = [
  { name: 'https://aws.amazon.com/SAML/Attributes/Role', valueTag: 'role' },
  { name: 'https://aws.amazon.com/SAML/Attributes/RoleSessionName', valueTag: 'session' },
].map((a) => ({
  ...a,
  nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
  valueXsiType: 'xs:string',
}));

const idp = samlify.IdentityProvider({
  entityID: issuer,
  // samlify builds the AttributeStatement from these (values filled in below).
  loginResponseTemplate: {
    context: samlify.SamlLib.defaultLoginResponseTemplate.context,
    attributes,
  },
  privateKey: key,
  signingCert: cert,
  requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  singleSignOnService: [{
    Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
    Location: 'https://idp.test/sso',
  }],
});
const sp = samlify.ServiceProvider({
  entityID: 'urn:amazon:webservices',
  assertionConsumerService: [{
    Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
    Location: acs,
  }],
  wantAssertionsSigned: true,
  wantMessageSigned: true,
});

// samlify's own template and tag replacement; only the values are ours (as an application
// using samlify writes them), and InResponseTo stays samlify's default for IdP-initiated: "".
const replace = (template) => {
  const now = new Date();
  const later = new Date(now.getTime() + 5 * 60 * 1000);
  const id = idp.entitySetting.generateID();
  const values = {
    ID: id,
    AssertionID: idp.entitySetting.generateID(),
    Destination: acs,
    Audience: 'urn:amazon:webservices',
    EntityID: 'urn:amazon:webservices',
    SubjectRecipient: acs,
    Issuer: issuer,
    IssueInstant: now.toISOString(),
    StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
    ConditionsNotBefore: now.toISOString(),
    ConditionsNotOnOrAfter: later.toISOString(),
    SubjectConfirmationDataNotOnOrAfter: later.toISOString(),
    NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    NameID: nameId,
    InResponseTo: '',
    AuthnStatement: '',
    attrRole: `${role},${provider}`,
    attrSession: nameId,
  };
  return { id, context: samlify.SamlLib.replaceTagsByValue(template, values) };
};

const { context } = await idp.createLoginResponse(sp, {}, 'post', { email: nameId }, replace);
process.stdout.write(context);
