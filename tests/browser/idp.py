#!/usr/bin/env python3
"""A real SAML identity provider for idbroker's browser tests, built on pysaml2 (its Server
signs with xmlsec1), on 127.0.0.1 only. Development and tests only.

    python3 tests/browser/idp.py DIR SP_METADATA_URL

Makes a fresh RSA-2048 key and certificate in DIR, writes DIR/idp-metadata.xml (entity id
http://127.0.0.1:PORT/idp, a signing certificate, an HTTP-Redirect SingleSignOnService), then
prints "READY <port>". idbroker's SP metadata is read from SP_METADATA_URL on first use
(idbroker starts after the IdP, since its configuration names the IdP's metadata).

  GET  /idp-initiated?user=U&acs=URL[&relay=R][&expired=1]
       an auto-posting form (and a visible button, id "post") carrying an unsolicited,
       signed response for U to URL; expired=1 makes one issued two hours ago.
  GET  /sso/redirect?SAMLRequest=..[&RelayState=..]&SigAlg=..&Signature=..
       (a signed HTTP-Redirect AuthnRequest, checked with the SP metadata's signing key)
       the login page: buttons login-alice, login-bob, login-carol
  POST /sso/login   the chosen user: an auto-posting form answering the AuthnRequest
Users: alice (roles Admin and ReadOnly, SourceIdentity alice), bob (ReadOnly), carol (Denied).
Exits 3 when pysaml2 or freezegun is missing.
"""
import datetime as dt
import html
import http.server
import os
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

try:
    from freezegun import freeze_time
    from saml2 import BINDING_HTTP_REDIRECT, xmldsig
    from saml2.config import IdPConfig
    from saml2.metadata import create_metadata_string
    from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_PERSISTENT, NameID
    from saml2.server import Server
    from saml2.authn_context import PASSWORD
except ImportError as e:  # pragma: no cover
    print(f"idp.py: missing Python dependency: {e}", file=sys.stderr)
    sys.exit(3)

ACCOUNT = "111122223333"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/TestIdP"
ROLE = lambda name: f"arn:aws:iam::{ACCOUNT}:role/console/{name}"  # noqa: E731
A = "https://aws.amazon.com/SAML/Attributes/"
USERS = {
    "alice": {
        A + "Role": [f"{ROLE('Admin')},{PROVIDER}", f"{PROVIDER},{ROLE('ReadOnly')}"],
        A + "RoleSessionName": ["alice@example.com"],
        A + "SourceIdentity": ["alice"],
    },
    "bob": {
        A + "Role": [f"{ROLE('ReadOnly')},{PROVIDER}"],
        A + "RoleSessionName": ["bob@example.com"],
    },
    "carol": {
        A + "Role": [f"{ROLE('Denied')},{PROVIDER}"],
        A + "RoleSessionName": ["carol@example.com"],
    },
}

out_dir, sp_metadata_url = sys.argv[1], sys.argv[2]
key_file = os.path.join(out_dir, "idp.key")
cert_file = os.path.join(out_dir, "idp.crt")
subprocess.run(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
     "-subj", "/CN=idbroker test IdP", "-keyout", key_file, "-out", cert_file],
    check=True, capture_output=True)

server_socket = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("IDP_PORT", "0"))), None)
port = server_socket.server_address[1]
base = f"http://127.0.0.1:{port}"


def config(with_sp: bool) -> IdPConfig:
    conf = {
        "entityid": f"{base}/idp",
        "service": {"idp": {
            "endpoints": {"single_sign_on_service": [(f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)]},
            "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None,
                                   "name_form": NAME_FORMAT_URI}},
            "name_id_format": [NAMEID_FORMAT_PERSISTENT],
            "sign_response": True,
            "sign_assertion": True,
            # idbroker signs its AuthnRequests in these tests: unsigned or badly signed ones
            # are refused, with the key from idbroker's SP metadata.
            "want_authn_requests_signed": True,
        }},
        "key_file": key_file,
        "cert_file": cert_file,
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "allow_unknown_attributes": True,
    }
    if with_sp:
        sp_md = os.path.join(out_dir, "sp-metadata.xml")
        with urllib.request.urlopen(sp_metadata_url, timeout=5) as r, open(sp_md, "wb") as f:
            f.write(r.read())
        conf["metadata"] = {"local": [sp_md]}
    c = IdPConfig()
    c.load(conf)
    return c


with open(os.path.join(out_dir, "idp-metadata.xml"), "w") as f:
    f.write(create_metadata_string(None, config=config(False), valid=48, sign=False).decode())

_idp = None
_lock = threading.Lock()


def idp() -> Server:
    global _idp
    with _lock:
        if _idp is None:
            _idp = Server(config=config(True))
        return _idp


def sp_entity_id() -> str:
    srv = idp()
    return next(iter(srv.metadata.service_providers()))


def response(user: str, acs: str, in_response_to=None, expired=False) -> str:
    srv = idp()
    kwargs = dict(
        identity=USERS[user],
        in_response_to=in_response_to,
        destination=acs,
        sp_entity_id=sp_entity_id(),
        name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=f"{user}-persistent-id"),
        authn={"class_ref": PASSWORD, "authn_auth": f"{base}/idp"},
        sign_response=True,
        sign_assertion=True,
        sign_alg=xmldsig.SIG_RSA_SHA256,
        digest_alg=xmldsig.DIGEST_SHA256,
    )
    if expired:
        with freeze_time(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)):
            resp = srv.create_authn_response(**kwargs)
    else:
        resp = srv.create_authn_response(**kwargs)
    import base64
    return base64.b64encode(str(resp).encode()).decode()


def post_form(acs: str, saml_response: str, relay: str) -> bytes:
    return f"""<!doctype html><html><head><title>Signing you in</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{html.escape(acs)}">
<input type="hidden" name="SAMLResponse" value="{html.escape(saml_response)}">
<input type="hidden" name="RelayState" value="{html.escape(relay)}">
<button type="submit" id="post">Continue</button></form></body></html>""".encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, status: int, body: bytes, ctype="text/html; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        try:
            if u.path == "/idp-initiated":
                r = response(q["user"], q["acs"], expired=q.get("expired") == "1")
                return self.send(200, post_form(q["acs"], r, q.get("relay", "")))
            if u.path == "/sso/redirect":
                srv = idp()
                req = srv.parse_authn_request(
                    q["SAMLRequest"], BINDING_HTTP_REDIRECT, relay_state=q.get("RelayState"),
                    sigalg=q.get("SigAlg"), signature=q.get("Signature"))
                msg = req.message
                acs = msg.assertion_consumer_service_url
                buttons = "".join(
                    f'<button type="submit" name="user" value="{u}" id="login-{u}">Sign in as {u}</button> '
                    for u in USERS)
                page = f"""<!doctype html><html><head><title>Test IdP login</title></head><body>
<h1>Test IdP</h1><p>Request {html.escape(msg.id)} from {html.escape(msg.issuer.text)}</p>
<form method="post" action="/sso/login">
<input type="hidden" name="id" value="{html.escape(msg.id)}">
<input type="hidden" name="acs" value="{html.escape(acs)}">
<input type="hidden" name="relay" value="{html.escape(q.get('RelayState', ''))}">
{buttons}</form></body></html>"""
                return self.send(200, page.encode())
            return self.send(404, b"not found")
        except Exception as e:  # a test peer: say what went wrong
            return self.send(500, f"idp error: {e!r}".encode(), "text/plain")

    def do_POST(self):
        u = urllib.parse.urlparse(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        q = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        try:
            if u.path == "/sso/login":
                r = response(q["user"], q["acs"], in_response_to=q["id"])
                return self.send(200, post_form(q["acs"], r, q.get("relay", "")))
            return self.send(404, b"not found")
        except Exception as e:
            return self.send(500, f"idp error: {e!r}".encode(), "text/plain")


server_socket.RequestHandlerClass = Handler
print(f"READY {port}", flush=True)
threading.Thread(target=server_socket.serve_forever, daemon=True).start()
# Exit when the test that started it goes away (stdin closes).
sys.stdin.read()
