"""No server-side request forgery: a webhook URL must resolve to public addresses only.

Checked at registration and again before every delivery (a name may be re-pointed in between).
``WASTEFLOW_WEBHOOK_ALLOW_PRIVATE=1`` lifts it (and allows plain http) for development and tests.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from wasteflow.errors import RuleViolation


def check_url(url: str, allow_private: bool, field: str = "url") -> None:
    """Raise a 422 naming the rule unless ``url`` is an http(s) URL whose host resolves to public addresses."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise RuleViolation("webhook_url_scheme", field, f"a webhook URL is {' or '.join(schemes)}://host/...")
    if parts.username or parts.password:
        raise RuleViolation("webhook_url_credentials", field, "a webhook URL carries no user or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise RuleViolation("webhook_url_unresolvable", field, f"{parts.hostname} does not resolve: {exc}") from exc
    if allow_private:
        return
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global or address.is_multicast:
            raise RuleViolation("webhook_url_private", field,
                                f"{parts.hostname} resolves to {address}, a loopback, private or reserved address")
