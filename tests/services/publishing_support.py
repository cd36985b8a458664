"""Shared by the publishing tests: connect a sandbox creator for posting, build a Runtime."""

from __future__ import annotations

from services.access import LOCAL_ACTOR
from services.accounts import complete_connect, start_connect
from services.publishing import FileSource, PostRequest
from services.runtime import Runtime
from services.tiktok.client import TikTokClient
from services.tiktok.scopes import ANALYTICS, DRAFTS, PUBLISHING

ALL_POSTING = (*ANALYTICS, *PUBLISHING, *DRAFTS)


def connect(db, settings, keyring, sandbox, creator="lunakitchen", scopes=ALL_POSTING) -> str:
    """Connect ``creator`` through the real flow (authorize URL → consent → callback)."""
    client = TikTokClient.from_settings(settings)
    try:
        url = start_connect(db, settings, keyring, scopes=scopes, actor=LOCAL_ACTOR)
        params = sandbox.callback_params(url, creator=creator, scopes=list(scopes))
        return complete_connect(db, client, keyring, params,
                                redirect_uri=settings.redirect_uri, actor=LOCAL_ACTOR).open_id
    finally:
        client.session.close()


def runtime(settings, keyring) -> Runtime:
    return Runtime(settings=settings, keyring=keyring)


def direct(open_id, path, **changes) -> PostRequest:
    values = {"open_id": open_id, "mode": "direct", "source": FileSource(path),
              "caption": "Tomato season #recipe 🍅", "privacy_level": "PUBLIC_TO_EVERYONE"}
    values.update(changes)
    return PostRequest(**values)


class MediaServer:
    """A loopback HTTPS file server (self-signed) for PULL_FROM_URL posts: the sandbox only
    fetches https URLs on loopback hosts, and TikTok only pulls from verified domains."""

    def __init__(self, root):
        import datetime as dt
        import functools
        import http.server
        import ssl
        import tempfile
        import threading

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=1))
                .sign(key, hashes.SHA256()))
        with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as pem:
            pem.write(key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
            pem.write(cert.public_bytes(serialization.Encoding.PEM))
        self._pem = pem.name
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pem.name)

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        handler = functools.partial(Quiet, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.root = root
        self.prefix = f"https://localhost:{self.port}/media/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return self.prefix + name

    def stop(self):
        import os

        self.httpd.shutdown()
        self.httpd.server_close()
        os.unlink(self._pem)
