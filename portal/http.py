"""Outgoing HTTP: one session class with a default timeout that each integration uses."""

import requests
from django.conf import settings


class ExternalSession(requests.Session):
    """A requests session that never waits forever: every call gets settings.EXTERNAL_TIMEOUT."""

    def __init__(self, *, user_agent: str = "clearfacts-portal"):
        super().__init__()
        self.headers["User-Agent"] = user_agent

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", settings.EXTERNAL_TIMEOUT)
        return super().request(method, url, **kwargs)
