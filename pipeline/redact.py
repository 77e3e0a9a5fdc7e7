"""URLs as they may be shown: printed, logged, listed. Everything a user would call a secret is masked.

A URL carries secrets in three places, and webhook URLs use all three:

- the userinfo: ``https://user:password@host``, ``https://:token@host``, ``https://token@host``;
- query (and fragment) parameters named like a credential: ``token=``, ``key=``, ``sig=``, ``secret=``,
  ``password=``, ``api_key=``, ``access_token=``, ``X-Amz-Signature=`` …;
- path segments that are tokens themselves: ``hooks.slack.com/services/T0/B0/<token>``,
  ``discord.com/api/webhooks/<id>/<token>``, ``webhook.site/<uuid>``.

Masking is done on the text, not by parsing and re-assembling the URL, so what is shown is the URL as given
with only the secrets replaced, and a URL no parser accepts is masked too.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"

# A parameter whose name contains one of these holds a secret (case-insensitive). Broad on purpose: masking
# "keyword=" costs a reader little; showing "session_key=" would cost the owner a credential.
_SECRET_NAME = re.compile(r"token|key|sig|secret|pass|pwd|auth|credential|session|jwt|hmac|bearer", re.I)
# A URL's start in a comma-separated list of URLs (PIPELINE_ELASTICSEARCH_URL may hold several nodes).
_NEXT_URL = re.compile(r",(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)")
_SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*://")
# A path segment that is a token: long, URL-safe characters only, letters and digits mixed (a Slack or Discord
# webhook token, a UUID), unlike words and index names ("news-articles-v1").
_TOKEN_SEGMENT = re.compile(r"[A-Za-z0-9_-]{20,}")


def redact_url(url: str) -> str:
    """``url`` (or a comma-separated list of URLs) with its userinfo, credential-named parameters and token
    path segments masked: ``https://elastic:***@es:9200``, ``https://***@host/hook?token=***&format=json``."""
    return ",".join(_redact_one(part) for part in _NEXT_URL.split(url))


def carries_secret(url: str) -> bool:
    """Whether showing ``url`` as it is would show a secret."""
    return redact_url(url) != url


def _redact_one(url: str) -> str:
    scheme = _SCHEME.match(url)
    start = scheme.end() if scheme else 0
    authority_end = _first_of(url, "/?#", start)
    before_query = url[start : _first_of(url, "?#", start)]
    if "@" not in url[start:authority_end] and ":" in before_query.rpartition("@")[0]:
        # "https://user:pa/ss@host": a password with a "/" that should have been escaped; parsers would show
        # "pa" as the host and "/ss@host" as the path. Mask it as the password it is.
        authority_end = start + before_query.rindex("@") + 1 + len(_first_segment(before_query.rpartition("@")[2]))
    authority = url[start:authority_end]
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        user, colon, _ = userinfo.partition(":")
        # user:password keeps the user (who, not how); a lone userinfo is a token more often than a name.
        authority = f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}"
    rest = url[authority_end:]
    path_end = _first_of(rest, "?#", 0)
    path, query_and_fragment = rest[:path_end], rest[path_end:]
    path = "/".join(MASK if _is_token(segment) else segment for segment in path.split("/"))
    return url[:start] + authority + path + re.sub(r"([?#&;])([^=&;#]*)=([^&;#]*)", _mask_parameter, query_and_fragment)


def _first_segment(text: str) -> str:
    return text.split("/", 1)[0]


def _first_of(text: str, characters: str, start: int) -> int:
    positions = [i for i in (text.find(c, start) for c in characters) if i >= 0]
    return min(positions, default=len(text))


def _is_token(segment: str) -> bool:
    if not _TOKEN_SEGMENT.fullmatch(segment):
        return False
    return sum(c.isdigit() for c in segment) >= 2 and sum(c.isalpha() for c in segment) >= 2


def _mask_parameter(match: re.Match[str]) -> str:
    separator, name, value = match.groups()
    if value and _SECRET_NAME.search(unquote(name)):
        value = MASK
    return f"{separator}{name}={value}"
