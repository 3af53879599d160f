"""Whether a Paddle API base URL is Paddle and answers, without sending a key (`credbot check`).

Paddle refuses any API request that has no ``Authorization`` header with HTTP 403 and the error code
``authentication_missing`` (developer.paddle.com, errors › shared › authentication_missing). So an unauthenticated
``GET /event-types`` (the read-only endpoint key checks use) that gets exactly that answer shows the URL reaches
Paddle's API; anything else (no answer, another status, another body) means it does not. No key is ever sent.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from bot.infra.http_pool import PROXY_OPENER, SHARED, Pool, proxied

PROBE_PATH = "/event-types"
EXPECTED_CODE = "authentication_missing"
MAX_BODY = 64 * 1024


def paddle_problem(base_url: str, timeout: float, pool: Pool = SHARED) -> str | None:
    """None when ``base_url`` answers as Paddle's API does without a key; else what it answered, in words."""
    url = base_url.rstrip("/") + PROBE_PATH
    headers = {"Accept": "application/json", "User-Agent": "credbot-check"}
    try:
        if proxied(url):
            status, body = _through_proxy(url, headers, timeout)
        else:
            status, _headers, body = pool.request("GET", url, headers=headers, timeout=timeout, max_body=MAX_BODY)
    except TimeoutError:
        return f"no answer within {timeout:g} s (PADDLE_TIMEOUT_SECONDS)"
    except OSError as error:
        reason = getattr(error, "reason", None) or error
        return f"cannot be reached ({type(reason).__name__}: {' '.join(str(reason).split())[:200]})"
    code = _error_code(body)
    if status == 403 and code == EXPECTED_CODE:
        return None
    said = f"HTTP {status}" + (f" {code}" if code else "")
    return f"answered {said}, not Paddle's 403 {EXPECTED_CODE} to a request without a key"


def _through_proxy(url: str, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with PROXY_OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read(MAX_BODY)
    except urllib.error.HTTPError as error:  # 4xx/5xx (and a refused redirect) are answers, not failures
        return error.code, error.read(MAX_BODY)


def _error_code(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None
