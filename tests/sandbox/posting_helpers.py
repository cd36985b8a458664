"""Helpers for the Content Posting tests: a posting client over real HTTP and a loopback HTTPS
media server (self-signed certificate made with `cryptography`) for PULL_FROM_URL."""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.sandbox.helpers import ALL_SCOPES, Client

POST_SCOPES = ALL_SCOPES + ",video.publish,video.upload"
MIB = 1024 * 1024


@dataclass
class Poster:
    """A connected creator's token plus calls to the Content Posting endpoints."""

    sb: Client
    token: str

    def _post(self, path: str, body: Any = None) -> requests.Response:
        return self.sb.http.post(
            f"{self.sb.base}/v2/post/publish/{path}",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json; charset=UTF-8",
            },
            json=body,
        )

    def creator_info(self) -> requests.Response:
        return self._post("creator_info/query/")

    def video_init(self, post_info: dict, source_info: dict) -> requests.Response:
        return self._post("video/init/", {"post_info": post_info, "source_info": source_info})

    def inbox_init(self, source_info: dict, **extra: Any) -> requests.Response:
        return self._post("inbox/video/init/", {"source_info": source_info, **extra})

    def content_init(self, body: dict) -> requests.Response:
        return self._post("content/init/", body)

    def status(self, publish_id: str) -> requests.Response:
        return self._post("status/fetch/", {"publish_id": publish_id})

    def cancel(self, publish_id: str) -> requests.Response:
        return self._post("cancel/", {"publish_id": publish_id})

    def data(self, publish_id: str) -> dict[str, Any]:
        r = self.status(publish_id)
        assert r.status_code == 200, r.text
        return r.json()["data"]


def connect_poster(sb: Client, creator: str = "lunakitchen", scope: str = POST_SCOPES) -> Poster:
    return Poster(sb, sb.connect(creator, scope)["access_token"])


def file_source(size: int, chunk: int | None = None, count: int | None = None) -> dict:
    chunk = size if chunk is None else chunk
    return {
        "source": "FILE_UPLOAD",
        "video_size": size,
        "chunk_size": chunk,
        "total_chunk_count": size // chunk if count is None else count,
    }


def put_chunk(
    http: requests.Session,
    url: str,
    data: bytes,
    first: int,
    total: int,
    content_type: str = "video/mp4",
    **headers: str,
) -> requests.Response:
    hdrs = {
        "Content-Type": content_type,
        "Content-Range": f"bytes {first}-{first + len(data) - 1}/{total}",
        **headers,
    }
    return http.put(url, data=data, headers=hdrs)


def upload_file(poster: Poster, path: Path, post_info: dict | None, inbox: bool = False) -> str:
    """init (single chunk) + PUT; returns the publish_id."""
    data = path.read_bytes()
    src = file_source(len(data))
    r = poster.inbox_init(src) if inbox else poster.video_init(post_info or {}, src)
    assert r.status_code == 200, r.text
    payload = r.json()["data"]
    put = put_chunk(poster.sb.http, payload["upload_url"], data, 0, len(data))
    assert put.status_code == 201, put.text
    return payload["publish_id"]


def wait_for(poster: Poster, publish_id: str, not_status: str, tries: int = 200) -> dict:
    """Poll until the status leaves `not_status`. PULL downloads run on a real thread while the
    test clock is frozen, so each round lets 1 simulated second pass (processing starts when
    the download ends)."""
    poster.sb.config(status_per_minute=1_000_000)
    for _ in range(tries):
        data = poster.data(publish_id)
        if data["status"] != not_status:
            return data
        poster.sb.advance(1)
        time.sleep(0.05)
    raise AssertionError(f"{publish_id} stayed {not_status}")


# --- a loopback HTTPS server for PULL_FROM_URL ----------------------------------------------


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def https_media_server(root: Path) -> Iterator[str]:
    """Serve `root` at https://localhost:PORT/media/…; /redirect/… answers 302. Yields the base."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/redirect/"):
                self.send_response(302)
                self.send_header("Location", "/media/" + self.path.split("/", 2)[2])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            target = root / self.path.removeprefix("/media/")
            if not self.path.startswith("/media/") or not target.is_file():
                self.send_error(404)
                return
            body = target.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    cert, key = _self_signed(root)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"https://localhost:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        httpd.server_close()
