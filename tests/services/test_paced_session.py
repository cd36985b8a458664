"""PacedSession sends exactly what a plain requests.Session sends, reusing preparations."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from services.ratelimit import PacedSession, Pacer, paced_session


class _Recorder(HTTPAdapter):
    """Records every request that reaches the transport and answers 200 with a JSON body."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[Any, ...]] = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.sent.append((request.method, request.url, dict(request.headers), request.body,
                          timeout, verify, cert, dict(proxies or {}), stream))
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"ok": true}'
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = request.url
        return response


def _sessions() -> list[tuple[requests.Session, _Recorder]]:
    pairs = []
    for session in (requests.Session(), PacedSession()):
        session.trust_env = False  # as paced_session sets it for a known host
        session.headers["User-Agent"] = "test"
        recorder = _Recorder()
        session.mount("http://", recorder)
        pairs.append((session, recorder))
    return pairs


def _calls(session: requests.Session) -> None:
    auth = {"Authorization": "Bearer act.1"}
    post = {**auth, "Content-Type": "application/json; charset=UTF-8"}
    session.request("GET", "http://t/v2/user/info/", params={"fields": "open_id,bio"},
                    headers=auth, timeout=(5, 30))
    for cursor in (None, 1_700_000_000_000, 1_699_999_999_000):
        body: dict[str, Any] = {"max_count": 20}
        if cursor is not None:
            body["cursor"] = cursor
        session.request("POST", "http://t/v2/video/list/", params={"fields": "id,title"},
                        headers=post, json=body, timeout=(5, 30))
    session.request("POST", "http://t/v2/video/list/", params={"fields": "id,title"},
                    headers=post, timeout=(5, 30))  # no body at all
    session.request("POST", "http://t/v2/oauth/token/", data={"grant_type": "refresh_token"},
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    timeout=(5, 30))
    session.request("POST", "http://t/v2/video/list/", params={"fields": "id,title"},
                    headers={**post, "Authorization": "Bearer act.2"},  # a refreshed token
                    json={"max_count": 20}, timeout=(5, 30))
    session.headers["X-Extra"] = "1"  # a changed session setting is picked up
    session.request("POST", "http://t/v2/video/list/", params={"fields": "id,title"},
                    headers=post, json={"max_count": 20}, timeout=(5, 30))
    session.cookies.set("lb", "a")  # a cookie in the jar is sent
    session.request("POST", "http://t/v2/video/list/", params={"fields": "id,title"},
                    headers=post, json={"max_count": 20, "cursor": 5}, timeout=(5, 30))
    session.request("GET", "http://t/v2/user/info/", params={"fields": ["a", "b"]},
                    headers=auth, timeout=(5, 30), allow_redirects=False)


def test_paced_session_sends_what_requests_sends():
    (plain, plain_sent), (paced, paced_sent) = _sessions()
    _calls(plain)
    _calls(paced)
    assert paced_sent.sent == plain_sent.sent
    assert len(paced_sent.sent) == 10 and paced_sent.sent[-2][2]["Cookie"] == "lb=a"


def test_repeated_requests_are_prepared_once(monkeypatch):
    session, recorder = _sessions()[1]
    prepared = []
    real = PacedSession.prepare_request

    def counting(self, request):
        prepared.append(request.url)
        return real(self, request)

    monkeypatch.setattr(PacedSession, "prepare_request", counting)
    for cursor in range(50):
        session.request("POST", "http://t/v2/video/list/", params={"fields": "id"},
                        headers={"Authorization": "Bearer x"}, json={"cursor": cursor})
    assert len(prepared) == 1 and len(recorder.sent) == 50
    assert [sent[3] == b'{"cursor": 7}' for sent in recorder.sent].index(True) == 7


@pytest.mark.parametrize("base_url, reads_environment", [("http://127.0.0.1:9", False),
                                                         (None, True)])
def test_paced_session_is_a_paced_session(base_url, reads_environment):
    session, adapter = paced_session(Pacer(), "acct", base_url=base_url)
    assert isinstance(session, PacedSession) and session.trust_env is reads_environment
    assert session.get_adapter("https://open.tiktokapis.com/v2/") is adapter
