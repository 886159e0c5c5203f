#!/usr/bin/env python3
"""A person at a browser, for the README runner (scripts/readme-run.py) only: `idbroker login`
opens `$BROWSER URL`; this follows that URL through the demo's development IdP the way a person
clicks through it, choosing PERSON, and stops at the CLI's loopback page.

    BROWSER="python3 scripts/readme-browser.py PERSON" idbroker login --endpoint-url ... URL

Loopback only, no JavaScript: it submits the forms the pages show (the people page's button for
PERSON, then the page that posts the SAML response to idbroker's ACS). Every request is bounded
in time. Exit 0 once the CLI's page says it is signed in.
"""
import html.parser
import http.cookiejar
import sys
import urllib.parse
import urllib.request


class Forms(html.parser.HTMLParser):
    """Each form: its action, method, id and fields (name, value, is it a submit button)."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"),
                               "id": a.get("id"), "fields": []})
        elif tag in ("input", "button") and self.forms and a.get("name"):
            submit = tag == "button" or a.get("type") == "submit"
            self.forms[-1]["fields"].append((a["name"], a.get("value", ""), submit))


def main():
    person, url = sys.argv[1], sys.argv[2]
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"readme-browser: {url} is not on loopback")
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(url, timeout=30)
    for _ in range(5):
        body = page.read().decode("utf-8", "replace")
        if "Signed in" in body:
            return
        parser = Forms()
        parser.feed(body)
        form = next((f for f in parser.forms
                     if f["id"] == "autopost"
                     or any(n == "person" and v == person for n, v, _ in f["fields"])), None)
        if form is None:
            sys.exit(f"readme-browser: nothing to click on {page.geturl()}:\n{body[:2000]}")
        data = [(n, v) for n, v, submit in form["fields"]
                if not submit or (n == "person" and v == person)]
        action = urllib.parse.urljoin(page.geturl(), html.unescape(form["action"]))
        page = opener.open(action, data=urllib.parse.urlencode(data).encode(), timeout=30)
    sys.exit("readme-browser: never reached the CLI's page")


if __name__ == "__main__":
    main()
