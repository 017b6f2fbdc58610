#!/usr/bin/python3
"""Drives a running `opsdeck --headless` with Debian's python3-requests (and validates error
bodies with python3-jsonschema): auth (none, wrong, X-API-Key, Bearer), the public /health, every
GET route of /openapi.json with and without the key, 404, 405 with Allow, HEAD without a body,
413 before the body is read, and, for an https:// base, certificate verification against the
checked-in CA. Run by tests/integration/tst_apiclients.cpp.

Usage: apiclient_checks.py BASE_URL KEY_FILE [CA_FILE]
Prints one line per check; exits 0 when all pass, 1 with the failures listed otherwise."""
import json
import socket
import ssl
import sys
import time
import urllib.parse

import jsonschema
import requests

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                "message": {"type": "string", "minLength": 1},
                "details": {"type": "object"},
            },
        }
    },
}

failures = []


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else ": " + str(detail)))
    if not condition:
        failures.append(name)


def error_code(response):
    try:
        body = response.json()
        jsonschema.validate(body, ERROR_SCHEMA)
        return body["error"]["code"]
    except (ValueError, jsonschema.ValidationError) as e:
        return "<not the error shape: %s>" % e


def main():
    base, key_file = sys.argv[1], sys.argv[2]
    ca = sys.argv[3] if len(sys.argv) > 3 else None
    key = open(key_file).read().strip()
    tls = base.startswith("https://")
    verify = ca if tls else True
    # verify per request: REQUESTS_CA_BUNDLE in the environment beats Session.verify.
    session = requests.Session()

    class Client:
        def __getattr__(self, method):
            return lambda url, **kw: getattr(session, method)(url, verify=verify, timeout=30, **kw)

    s = Client()
    with_key = {"X-API-Key": key}
    bearer = {"Authorization": "Bearer " + key}

    r = s.get(base + "/health")
    check("health open", r.status_code == 200 and r.json()["status"] == "ok", r.status_code)

    metrics = base + "/monitoring/metrics"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        r = s.get(metrics, params={"limit": 1}, headers=with_key)
        if r.status_code == 200:
            break
        time.sleep(0.2)
    check("metrics with X-API-Key", r.status_code == 200, r.status_code)
    r = s.get(metrics, params={"category": "system", "limit": 2}, headers=bearer)
    check("metrics with Bearer", r.status_code == 200 and len(r.json()["metrics"]["system"]) == 2,
          r.status_code)
    r = s.get(base + "/api/v1/monitoring/metrics", params={"category": "sys tem"}, headers=with_key)
    check("bad category is 400 (space encoded by requests)", r.status_code == 400
          and error_code(r) == "invalid_parameter", r.text)

    r = s.get(metrics)
    check("no key is 401", r.status_code == 401 and error_code(r) == "unauthorized", r.status_code)
    check("401 has WWW-Authenticate: Bearer",
          r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers)
    r = s.get(metrics, headers={"X-API-Key": key[:-1] + ("0" if key[-1] != "0" else "1")})
    check("wrong key is 401", r.status_code == 401 and error_code(r) == "unauthorized", r.status_code)
    r = s.get(metrics, headers={"Authorization": "Basic " + key})
    check("other scheme is 401", r.status_code == 401, r.status_code)

    # Every documented GET route without path parameters: 401 without the key (but /health),
    # never 401 or 5xx-with-trace with it.
    r = s.get(base + "/openapi.json", headers=with_key)
    if r.status_code == 200:
        paths = r.json().get("paths", {})
        for path, operations in sorted(paths.items()):
            if "{" in path or "get" not in operations:
                continue
            url = base + path
            if path == "/events":
                url += "?timeout=0"
            without = s.get(url)
            expected = 200 if path == "/health" else 401
            check("GET %s without key is %d" % (path, expected), without.status_code == expected,
                  without.status_code)
            withk = s.get(url, headers=with_key)
            check("GET %s with key answers" % path,
                  withk.status_code in (200, 503) and withk.status_code != 401, withk.status_code)
            if withk.status_code != 200:
                check("GET %s error shape" % path, not error_code(withk).startswith("<"), withk.text)
    else:
        check("openapi.json served", False, r.status_code)

    r = s.get(base + "/no/such/path", headers=with_key)
    check("404 in the error shape", r.status_code == 404 and error_code(r) == "not_found", r.text)
    r = s.delete(base + "/health")
    check("405 with Allow", r.status_code == 405
          and r.headers.get("Allow") == "GET, HEAD, OPTIONS", (r.status_code, r.headers))
    r = s.head(base + "/health")
    check("HEAD without a body", r.status_code == 200 and r.content == b""
          and int(r.headers["Content-Length"]) > 0, (r.status_code, r.content[:40]))
    r = s.head(metrics, headers=with_key)
    check("HEAD with key", r.status_code == 200 and r.content == b"", r.status_code)

    # 413: announced 2 MB, refused before the body is read. requests streams the body; the
    # server answers and closes early, so a raw (TLS) socket reads the answer reliably.
    host = urllib.parse.urlsplit(base)
    raw = socket.create_connection((host.hostname, host.port), timeout=10)
    if tls:
        context = ssl.create_default_context(cafile=ca)
        raw = context.wrap_socket(raw, server_hostname=host.hostname)
    raw.sendall(("POST /monitoring/metrics HTTP/1.1\r\nHost: %s\r\nX-API-Key: %s\r\n"
                 "Content-Length: 2000000\r\n\r\n" % (host.netloc, key)).encode() + b"x" * 65536)
    answer = b""
    try:
        while True:
            chunk = raw.recv(65536)
            if not chunk:
                break
            answer += chunk
    except (ConnectionResetError, ssl.SSLError, socket.timeout):
        pass
    raw.close()
    check("413 before the body", answer.startswith(b"HTTP/1.1 413"), answer[:60])

    if tls:
        try:
            requests.get(base + "/health", verify=True, timeout=10)
            check("untrusted without the CA", False, "request succeeded")
        except requests.exceptions.SSLError:
            check("untrusted without the CA", True)
        r = requests.get(base.replace("127.0.0.1", "localhost") + "/health", verify=ca, timeout=10)
        check("verified as localhost", r.status_code == 200, r.status_code)

    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
