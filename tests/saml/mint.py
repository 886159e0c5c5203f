#!/usr/bin/env python3
"""Mint SAML responses for idbroker's tests, as a real third-party IdP would (signxml + lxml,
RSA-2048 keys and certificates generated fresh on every run), plus a hostile set made from them.

    python3 tests/saml/mint.py OUT_DIR ISSUER SP_ENTITY_ID ACS_URL ROLE_ARN PROVIDER_ARN

Writes OUT_DIR/metadata.xml (the IdP's metadata: entity id and signing certificate),
OUT_DIR/sp_key.pem and OUT_DIR/sp_cert.pem (a fresh SP encryption keypair: the enc_* cases are
EncryptedAssertions for it, XML Encryption built by hand with `cryptography`: RSA-OAEP key
transport, AES-GCM or AES-CBC content) and
OUT_DIR/cases.json: {"now": epoch seconds, "cases": {name: base64 response}}.
Exits 3 when signxml/lxml/cryptography are missing (the Rust test decides what that means).
"""
import base64
import copy
import datetime as dt
import json
import os
import sys
import uuid

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding as apad
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.x509.oid import NameOID
    from lxml import etree
    from signxml import SignatureReference, XMLSigner
    from signxml.algorithms import CanonicalizationMethod
except ImportError as e:  # pragma: no cover
    print(f"mint.py: missing Python dependency: {e}", file=sys.stderr)
    sys.exit(3)

P = "urn:oasis:names:tc:SAML:2.0:protocol"
A = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
NS = {"samlp": P, "saml": A, "ds": DS}

out, issuer, sp_entity, acs, role_arn, provider_arn = sys.argv[1:7]
now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def keypair(cn, not_before, not_after):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "idbroker test IdP")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


idp_key, idp_cert = keypair("idp.test", now - dt.timedelta(days=1), now + dt.timedelta(days=30))
# Same subject as the IdP's certificate, another key: must verify nothing.
evil_key, evil_cert = keypair("idp.test", now - dt.timedelta(days=1), now + dt.timedelta(days=30))
# Listed in the metadata too, but expired: must verify nothing (expired_certs = "reject").
old_key, old_cert = keypair("idp.test old", now - dt.timedelta(days=60), now - dt.timedelta(days=1))

der_b64 = lambda pem: "".join(l for l in pem.decode().splitlines() if not l.startswith("-----"))
with open(os.path.join(out, "metadata.xml"), "w") as f:
    f.write(f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{issuer}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="{DS}"><ds:X509Data><ds:X509Certificate>{der_b64(idp_cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="{DS}"><ds:X509Data><ds:X509Certificate>{der_b64(old_cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
""")


def response(name_id="alice@example.com", audience=sp_entity, recipient=acs, iss=issuer,
             not_before=None, not_on_or_after=None, issue=None, destination=acs,
             status="urn:oasis:names:tc:SAML:2.0:status:Success", in_response_to=None,
             conditions=True, session_end=None, extra_attrs=""):
    issue = issue or now
    not_before = not_before or now - dt.timedelta(seconds=30)
    not_on_or_after = not_on_or_after or now + dt.timedelta(minutes=5)
    session_end = session_end or now + dt.timedelta(hours=8)
    rid, aid = "_r" + uuid.uuid4().hex, "_a" + uuid.uuid4().hex
    irt = f' InResponseTo="{in_response_to}"' if in_response_to else ""
    cond = (f'<saml:Conditions NotBefore="{iso(not_before)}" NotOnOrAfter="{iso(not_on_or_after)}">'
            f'<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>'
            f'</saml:Conditions>') if conditions else ""
    xml = f"""<samlp:Response xmlns:samlp="{P}" xmlns:saml="{A}" ID="{rid}" Version="2.0" IssueInstant="{iso(issue)}" Destination="{destination}"{irt}>
<saml:Issuer>{iss}</saml:Issuer><ds:Signature xmlns:ds="{DS}" Id="placeholder"></ds:Signature>
<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>
<saml:Assertion ID="{aid}" Version="2.0" IssueInstant="{iso(issue)}">
<saml:Issuer>{iss}</saml:Issuer><ds:Signature xmlns:ds="{DS}" Id="placeholder"></ds:Signature>
<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{name_id}</saml:NameID>
<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{iso(not_on_or_after)}" Recipient="{recipient}"{irt}/></saml:SubjectConfirmation></saml:Subject>
{cond}
<saml:AuthnStatement AuthnInstant="{iso(issue)}" SessionNotOnOrAfter="{iso(session_end)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>
<saml:AttributeStatement>
<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role"><saml:AttributeValue>{provider_arn},{role_arn}</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>{name_id}</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="urn:oid:0.9.2342.19200300.100.1.3"><saml:AttributeValue>{name_id}</saml:AttributeValue></saml:Attribute>
{extra_attrs}
</saml:AttributeStatement>
</saml:Assertion>
</samlp:Response>"""
    return etree.fromstring(xml.encode())


def sign(el, key=idp_key, cert=idp_cert, alg="rsa-sha256", digest="sha256", c14n=EXC, ref_c14n=None):
    """Enveloped signature of `el` at its placeholder (right after Issuer). `c14n` is SignedInfo's
    canonicalisation; `ref_c14n` (default: the same) the Reference's c14n transform."""
    signer = XMLSigner(signature_algorithm=alg, digest_algorithm=digest, c14n_algorithm=c14n)
    ref = el.get("ID") if ref_c14n is None else [SignatureReference(URI=el.get("ID"), c14n_method=ref_c14n)]
    signed = signer.sign(el, key=key, cert=cert.decode(), reference_uri=ref)
    return signed


def drop_placeholder(el):
    for p in el.findall("ds:Signature[@Id='placeholder']", NS):
        el.remove(p)


def both(resp, **kw):
    """Sign the Assertion, then the Response (the common IdP setup)."""
    a = resp.find("saml:Assertion", NS)
    signed_a = sign(a, **kw)
    resp.replace(a, signed_a)
    return sign(resp, **kw)


def assertion_only(resp, **kw):
    drop_placeholder(resp)
    a = resp.find("saml:Assertion", NS)
    resp.replace(a, sign(a, **kw))
    return resp


def response_only(resp, **kw):
    drop_placeholder(resp.find("saml:Assertion", NS))
    return sign(resp, **kw)


def b64(el_or_bytes):
    data = el_or_bytes if isinstance(el_or_bytes, bytes) else etree.tostring(el_or_bytes)
    return base64.b64encode(data).decode()


cases = {}
cases["valid"] = b64(both(response()))
for i in range(1, 7):
    cases[f"spare{i}"] = b64(both(response(name_id=f"user{i}@example.com")))
cases["valid_assertion_signed_only"] = b64(assertion_only(response()))
cases["valid_response_signed_only"] = b64(response_only(response()))
cases["name_id_with_spaces"] = b64(both(response(name_id="  carol@example.com\n ")))

# The classic XML signature wrapping placements (Somorovsky et al., SAML Raider's XSW1-8).
evil_name = "admin@example.com"


def evil_assertion(a):
    e = copy.deepcopy(a)
    e.set("ID", "_evil" + uuid.uuid4().hex)
    for s in e.findall("ds:Signature", NS):
        e.remove(s)
    e.find("saml:Subject/saml:NameID", NS).text = evil_name
    return e


def xsw(n):
    if n in (1, 2):
        signed = response_only(response())
        evil = copy.deepcopy(signed)
        evil.set("ID", "_evil" + uuid.uuid4().hex)
        evil_sig = evil.find("ds:Signature", NS)
        evil.remove(evil_sig)
        ea = evil.find("saml:Assertion", NS)
        evil.replace(ea, evil_assertion(ea))
        if n == 1:   # original signed Response inside the evil Response's Signature
            sig = copy.deepcopy(signed.find("ds:Signature", NS))
            signed_copy = copy.deepcopy(signed)
            signed_copy.remove(signed_copy.find("ds:Signature", NS))
            sig.append(signed_copy)
            evil.insert(1, sig)
        else:        # detached: the signature beside the evil content, the signed Response before it
            sig = copy.deepcopy(signed.find("ds:Signature", NS))
            signed_copy = copy.deepcopy(signed)
            signed_copy.remove(signed_copy.find("ds:Signature", NS))
            evil.insert(1, signed_copy)
            evil.insert(2, sig)
        return evil
    resp = assertion_only(response())
    a = resp.find("saml:Assertion", NS)
    ev = evil_assertion(a)
    if n == 3:       # evil Assertion before the signed one
        resp.insert(list(resp).index(a), ev)
    elif n == 4:     # signed Assertion inside the evil one
        resp.replace(a, ev)
        ev.append(a)
    elif n == 5:     # evil values in the signed copy; an unsigned copy of the original at the end
        ev.set("ID", a.get("ID"))
        a_copy = copy.deepcopy(a)
        a_copy.remove(a_copy.find("ds:Signature", NS))
        sig = a.find("ds:Signature", NS)
        ev.insert(1, copy.deepcopy(sig))
        resp.replace(a, ev)
        resp.append(a_copy)
    elif n == 6:     # evil Assertion carrying the signature, which holds the original
        ev.set("ID", a.get("ID"))
        sig = copy.deepcopy(a.find("ds:Signature", NS))
        a_copy = copy.deepcopy(a)
        a_copy.remove(a_copy.find("ds:Signature", NS))
        sig.append(a_copy)
        ev.insert(1, sig)
        resp.replace(a, ev)
    elif n == 7:     # Extensions holding the signed Assertion, evil Assertion in its place
        ext = etree.SubElement(resp, f"{{{P}}}Extensions")
        resp.remove(ext)
        resp.insert(1, ext)
        resp.replace(a, ev)
        ext.append(a)
    elif n == 8:     # ds:Object in the evil Assertion's signature holding the original
        ev.set("ID", a.get("ID"))
        sig = copy.deepcopy(a.find("ds:Signature", NS))
        obj = etree.SubElement(sig, f"{{{DS}}}Object")
        a_copy = copy.deepcopy(a)
        a_copy.remove(a_copy.find("ds:Signature", NS))
        obj.append(a_copy)
        ev.insert(1, sig)
        resp.replace(a, ev)
    return resp


for n in range(1, 9):
    cases[f"xsw{n}"] = b64(xsw(n))

# Comment injection (CVE-2017-11428): the IdP signed "admin@example.com.evil.com"; a comment
# inserted afterwards must not make it read "admin@example.com".
signed = etree.tostring(both(response(name_id="admin@example.com.evil.com")))
cases["comment_injection"] = b64(signed.replace(b">admin@example.com.evil.com<",
                                                b">admin@example.com<!---->.evil.com<", 1))
# Signature over the Subject only.
r = response()
drop_placeholder(r)
drop_placeholder(r.find("saml:Assertion", NS))
subj = r.find("saml:Assertion/saml:Subject", NS)
subj.set("ID", "_s" + uuid.uuid4().hex)
subj.insert(0, etree.fromstring(f'<ds:Signature xmlns:ds="{DS}" Id="placeholder"/>'))
subj.getparent().replace(subj, sign(subj))
cases["signature_on_wrong_element"] = b64(r)
# Duplicate IDs: an Extensions element carrying the Assertion's ID beside the genuine response.
r = both(response())
ext = etree.Element(f"{{{P}}}Extensions")
ext.set("ID", r.find("saml:Assertion", NS).get("ID"))
r.insert(2, ext)
cases["duplicate_ids"] = b64(r)
cases["attacker_cert_same_subject"] = b64(both(response(), key=evil_key, cert=evil_cert))
cases["expired_cert"] = b64(both(response(), key=old_key, cert=old_cert))
cases["expired"] = b64(both(response(issue=now - dt.timedelta(minutes=20),
                                     not_before=now - dt.timedelta(minutes=21),
                                     not_on_or_after=now - dt.timedelta(minutes=10))))
cases["not_yet_valid"] = b64(both(response(not_before=now + dt.timedelta(minutes=30),
                                           not_on_or_after=now + dt.timedelta(minutes=40))))
cases["issued_in_future"] = b64(both(response(issue=now + dt.timedelta(minutes=30))))
cases["session_not_on_or_after_passed"] = b64(both(response(session_end=now - dt.timedelta(minutes=1))))
cases["wrong_audience"] = b64(both(response(audience="https://other-sp.example/")))
cases["wrong_recipient"] = b64(both(response(recipient="https://other-sp.example/acs")))
cases["wrong_destination"] = b64(both(response(destination="https://other-sp.example/acs")))
cases["wrong_issuer"] = b64(both(response(iss="https://evil-idp.example/")))
cases["status_not_success"] = b64(both(response(status="urn:oasis:names:tc:SAML:2.0:status:Responder")))
cases["in_response_to_unsolicited"] = b64(both(response(in_response_to="_req123")))
cases["no_conditions"] = b64(both(response(conditions=False)))
# (lxml writes the empty placeholders as `<ds:Signature .../>`: they are removed as elements, or
# the case would be refused for its empty signatures instead of for having none.)
r = response()
drop_placeholder(r)
drop_placeholder(r.find("saml:Assertion", NS))
cases["unsigned"] = b64(r)
# (No fresh SHA-1 case: signxml refuses to make SHA-1 signatures; the RSA-SHA1 fixtures of
# tests/data/saml cover "SHA-1 refused unless the provider opts in".)
doctype = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
cases["doctype_billion_laughs"] = b64(doctype + etree.tostring(both(response(name_id="LOLS"))).replace(b">LOLS<", b">&lol3;<"))
# Tags, session duration and source identity from attributes.
cases["with_tags"] = b64(both(response(name_id="dave@example.com", extra_attrs="""
<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/PrincipalTag:team"><saml:AttributeValue>blue</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"><saml:AttributeValue>team</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/SourceIdentity"><saml:AttributeValue>dave</saml:AttributeValue></saml:Attribute>
<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/SessionDuration"><saml:AttributeValue>1800</saml:AttributeValue></saml:Attribute>""")))

# Encrypted assertions, for a fresh SP key (sp_key.pem / sp_cert.pem) or another one.
sp_key, sp_cert = keypair("sp.test", now - dt.timedelta(days=1), now + dt.timedelta(days=30))
other_sp_key, other_sp_cert = keypair("sp.test", now - dt.timedelta(days=1), now + dt.timedelta(days=30))
for name, data in (("sp_key.pem", sp_key), ("sp_cert.pem", sp_cert), ("other_sp_key.pem", other_sp_key)):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def encrypt(plain, cert_pem=sp_cert, mode="gcm", oaep256=False, key_sibling=False, tamper=False):
    """An EncryptedAssertion element holding `plain` (bytes)."""
    if mode == "gcm":
        key, iv = os.urandom(16), os.urandom(12)
        value = iv + AESGCM(key).encrypt(iv, plain, None)
        alg = XENC11 + "aes128-gcm"
    else:
        key, iv = os.urandom(32), os.urandom(16)
        n = 16 - len(plain) % 16
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        value = iv + enc.update(plain + bytes([n]) * n) + enc.finalize()
        alg = XENC + "aes256-cbc"
    if tamper:
        value = bytearray(value)
        value[len(value) // 2] ^= 1
        value = bytes(value)
    pub = x509.load_pem_x509_certificate(cert_pem).public_key()
    if oaep256:
        wrapped = pub.encrypt(key, apad.OAEP(mgf=apad.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        method = (f'<xenc:EncryptionMethod Algorithm="{XENC11}rsa-oaep"><ds:DigestMethod Algorithm="{XENC}sha256"/>'
                  f'<xenc11:MGF xmlns:xenc11="{XENC11}" Algorithm="{XENC11}mgf1sha256"/></xenc:EncryptionMethod>')
    else:
        wrapped = pub.encrypt(key, apad.OAEP(mgf=apad.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
        method = (f'<xenc:EncryptionMethod Algorithm="{XENC}rsa-oaep-mgf1p">'
                  f'<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod>')
    ek = (f'<xenc:EncryptedKey Id="_k{uuid.uuid4().hex}">{method}<xenc:CipherData><xenc:CipherValue>'
          f'{base64.b64encode(wrapped).decode()}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>')
    key_info = "" if key_sibling else f"<ds:KeyInfo>{ek}</ds:KeyInfo>"
    xml = (f'<saml:EncryptedAssertion xmlns:saml="{A}" xmlns:xenc="{XENC}" xmlns:ds="{DS}">'
           f'<xenc:EncryptedData Type="{XENC}Element"><xenc:EncryptionMethod Algorithm="{alg}"/>{key_info}'
           f'<xenc:CipherData><xenc:CipherValue>{base64.b64encode(value).decode()}</xenc:CipherValue></xenc:CipherData>'
           f'</xenc:EncryptedData>{ek if key_sibling else ""}</saml:EncryptedAssertion>')
    return etree.fromstring(xml.encode())


def encrypted(sign_assertion=True, sign_response=False, key=idp_key, cert=idp_cert, prefix=b"",
              keep_plain=False, **kw):
    r = response()
    a = r.find("saml:Assertion", NS)
    if sign_assertion:
        signed_a = sign(a, key=key, cert=cert)
        r.replace(a, signed_a)
        a = signed_a
    else:
        drop_placeholder(a)
    ea = encrypt(prefix + etree.tostring(a), **kw)
    if keep_plain:
        a.addnext(ea)
    else:
        r.replace(a, ea)
    return sign(r) if sign_response else (drop_placeholder(r) or r)


cases["enc_assertion_signed_gcm"] = b64(encrypted())
cases["enc_response_signed_cbc"] = b64(encrypted(sign_assertion=False, sign_response=True, mode="cbc"))
cases["enc_both_signed_oaep256_key_beside_data"] = b64(encrypted(sign_response=True, oaep256=True, key_sibling=True))
cases["enc_other_sp_key"] = b64(encrypted(cert_pem=other_sp_cert))
cases["enc_tampered_gcm"] = b64(encrypted(tamper=True))
cases["enc_tampered_cbc"] = b64(encrypted(mode="cbc", tamper=True))
cases["enc_unsigned"] = b64(encrypted(sign_assertion=False))
cases["enc_attacker_signed"] = b64(encrypted(key=evil_key, cert=evil_cert))
cases["enc_beside_plain_assertion"] = b64(encrypted(keep_plain=True))
r = encrypted()
ea = r.find("saml:EncryptedAssertion", NS)
ea.addnext(copy.deepcopy(ea))
cases["enc_twice"] = b64(r)
cases["enc_doctype_inside"] = b64(encrypted(prefix=b'<!DOCTYPE x [<!ENTITY e "e">]>'))

# Review item 3 (issue 13): the padding/format oracle of XML Encryption's CBC mode needs an
# unsigned Response around an EncryptedAssertion (ADFS's default: AES-256-CBC, only the
# Assertion signed). The tests manipulate this one's ciphertext; decrypted failures must all
# give one answer, whatever they are (an Assertion signed by another key, or none).
cases["enc_assertion_signed_cbc"] = b64(encrypted(mode="cbc"))
cases["enc_attacker_signed_cbc"] = b64(encrypted(mode="cbc", key=evil_key, cert=evil_cert))
cases["enc_unsigned_cbc"] = b64(encrypted(mode="cbc", sign_assertion=False))

# Issue 14: each check of AssumeRoleWithSAML refusing on its own. Every case below is the
# "valid" response (or "valid_response_signed_only", where the Assertion cannot carry its own
# signature) with exactly one thing changed before signing, so that it carries valid signatures
# and only the check it names can refuse it (tests/saml_checks.rs asserts the exact reason).
def one_change(edit, signing=both, **kw):
    r = response()
    edit(r.find("saml:Assertion", NS), r)
    return b64(signing(r, **kw))


def q(path):
    return lambda a: a.find(path, NS)


CONF = "saml:Subject/saml:SubjectConfirmation"
CONF_DATA = CONF + "/saml:SubjectConfirmationData"


def remove(el):
    el.getparent().remove(el)


def twice(el):
    el.addnext(copy.deepcopy(el))


def elements(xml):
    return etree.fromstring(f'<x xmlns:saml="{A}" xmlns:xenc="{XENC}">{xml}</x>')[0]


# Times: the assertion's IssueInstant stays `now` (fresh), so the age check never fires first.
# Conditions NotOnOrAfter passed by exactly the skew (300 s): refused at `now`, accepted 1 s before.
cases["conditions_not_on_or_after_passed"] = one_change(
    lambda a, r: q("saml:Conditions")(a).set("NotOnOrAfter", iso(now - dt.timedelta(seconds=300))))
cases["confirmation_not_on_or_after_passed"] = one_change(
    lambda a, r: q(CONF_DATA)(a).set("NotOnOrAfter", iso(now - dt.timedelta(seconds=300))))
# The bearer confirmation's NotBefore one second past the skew: refused at `now`, accepted 1 s later.
cases["confirmation_not_before_ahead"] = one_change(
    lambda a, r: q(CONF_DATA)(a).set("NotBefore", iso(now + dt.timedelta(seconds=301))))
cases["confirmation_without_not_on_or_after"] = one_change(
    lambda a, r: q(CONF_DATA)(a).attrib.pop("NotOnOrAfter"))
# Issuers one at a time (wrong_issuer changes both).
cases["response_issuer_wrong_only"] = one_change(
    lambda a, r: setattr(r.find("saml:Issuer", NS), "text", "https://evil-idp.example/"))
cases["assertion_issuer_wrong_only"] = one_change(
    lambda a, r: setattr(q("saml:Issuer")(a), "text", "https://evil-idp.example/"))
# Bearer confirmations: none (sender-vouches instead, with a good Recipient and NotOnOrAfter),
# none at all, two.
cases["confirmation_not_bearer"] = one_change(
    lambda a, r: q(CONF)(a).set("Method", "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches"))
cases["no_subject_confirmation"] = one_change(lambda a, r: remove(q(CONF)(a)))
cases["two_bearer_confirmations"] = one_change(lambda a, r: twice(q(CONF)(a)))
# Audience restrictions: Conditions without one, one without an Audience, a second naming
# someone else.
cases["conditions_without_audience_restriction"] = one_change(
    lambda a, r: remove(q("saml:Conditions/saml:AudienceRestriction")(a)))
cases["audience_restriction_empty"] = one_change(
    lambda a, r: remove(q("saml:Conditions/saml:AudienceRestriction/saml:Audience")(a)))
cases["second_audience_restriction_foreign"] = one_change(
    lambda a, r: q("saml:Conditions")(a).append(elements(
        "<saml:AudienceRestriction><saml:Audience>https://other-sp.example/</saml:Audience></saml:AudienceRestriction>")))
cases["two_conditions"] = one_change(lambda a, r: twice(q("saml:Conditions")(a)))
# Missing parts. An Assertion without Issuer cannot carry its signature (the schema puts it
# right after Issuer): only the Response is signed there.
cases["assertion_without_issuer"] = one_change(
    lambda a, r: remove(q("saml:Issuer")(a)), signing=response_only)
cases["assertion_without_issue_instant"] = one_change(lambda a, r: a.attrib.pop("IssueInstant"))
cases["response_without_issue_instant"] = one_change(lambda a, r: r.attrib.pop("IssueInstant"))
cases["assertion_without_subject"] = one_change(lambda a, r: remove(q("saml:Subject")(a)))
cases["subject_without_name_id"] = one_change(lambda a, r: remove(q("saml:Subject/saml:NameID")(a)))
cases["name_id_blank"] = one_change(lambda a, r: setattr(q("saml:Subject/saml:NameID")(a), "text", " \n "))
cases["name_id_empty"] = one_change(lambda a, r: setattr(q("saml:Subject/saml:NameID")(a), "text", None))


def name_id_with_element(a, r):
    n = q("saml:Subject/saml:NameID")(a)
    n.text = "alice"
    b = etree.SubElement(n, f"{{{A}}}Extra")
    b.tail = "@example.com"


cases["name_id_holds_element"] = one_change(name_id_with_element)
# Encrypted pieces other than one EncryptedAssertion.
ENCRYPTED_DATA = (f'<xenc:EncryptedData Type="{XENC}Element"><xenc:EncryptionMethod Algorithm="{XENC11}aes128-gcm"/>'
                  '<xenc:CipherData><xenc:CipherValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>')
cases["encrypted_id"] = one_change(
    lambda a, r: q("saml:Subject/saml:NameID")(a).getparent().replace(
        q("saml:Subject/saml:NameID")(a), elements(f"<saml:EncryptedID>{ENCRYPTED_DATA}</saml:EncryptedID>")))
cases["encrypted_attribute"] = one_change(
    lambda a, r: q("saml:AttributeStatement")(a).append(
        elements(f"<saml:EncryptedAttribute>{ENCRYPTED_DATA}</saml:EncryptedAttribute>")))
# Algorithms: a SHA-224 digest (signature RSA-SHA256), and the comment-preserving exclusive c14n
# as SignedInfo's canonicalisation or as the Reference's transform (the other one comment-less).
cases["digest_sha224"] = one_change(lambda a, r: None, digest="sha224")
WITH_COMMENTS = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0_WITH_COMMENTS
cases["signed_info_c14n_with_comments"] = one_change(
    lambda a, r: None, c14n=WITH_COMMENTS, ref_c14n=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
cases["transform_c14n_with_comments"] = one_change(lambda a, r: None, ref_c14n=WITH_COMMENTS)

with open(os.path.join(out, "cases.json"), "w") as f:
    json.dump({"now": int(now.timestamp()), "cases": cases}, f)
