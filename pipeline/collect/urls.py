"""Canonical URLs: one spelling per article, so ``pipeline.ids.article_id`` is stable across feeds and polls.

Only changes that never point at a different document are made: tracking parameters, fragments, default
ports, host case, trailing slashes and AMP variants go; the scheme, ``www.`` and the remaining query stay,
because sites do serve different documents on them.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

HTTP_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Parameters that identify a campaign, a click or a referrer, never the document.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "icid",
        "ncid",
        "sr_share",
        "smid",
        "soc_src",
        "soc_trk",
        "share",
        "amp",
        "outputtype",
        "__twitter_impression",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "xtor",
        "spm",
        "cid",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_", "itm_", "stm_")

# Google's AMP cache: https://www-example-com.cdn.ampproject.org/c/s/www.example.com/path
_AMP_CACHE = re.compile(r"^/[cv]/(?:(s)/)?(?P<rest>.+)$")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in HTTP_SCHEMES and bool(parts.hostname)


def host_of(url: str) -> str:
    """Lower-case host name of an http(s) URL ('' when there is none)."""
    try:
        return (urlsplit(url.strip()).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def _is_tracking(name: str) -> bool:
    key = name.lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def _normalize_escapes(segment: str, safe: str) -> str:
    """Decode escapes of unreserved characters and upper-case the rest (RFC 3986 section 6.2.2)."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    segment = re.sub(r"%([0-9A-Fa-f]{2})", fix, segment)
    # Quote anything unsafe left over (spaces, non-ASCII) without touching existing escapes.
    return quote(segment, safe=safe + "%")


def _idna_host(host: str) -> str:
    host = host.rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def _unwrap_amp_cache(host: str, path: str) -> tuple[str, str, str] | None:
    """(scheme, host, path) of the publisher's URL behind a Google AMP cache URL."""
    if not host.endswith(".cdn.ampproject.org"):
        return None
    match = _AMP_CACHE.match(path)
    if not match:
        return None
    scheme = "https" if match.group(1) else "http"
    rest = match.group("rest")
    inner_host, _, inner_path = rest.partition("/")
    return scheme, inner_host, "/" + inner_path


def _strip_amp_path(path: str) -> str:
    segments = path.split("/")
    # '/amp/news/x' and '/news/x/amp' are the AMP renderings of '/news/x'.
    if len(segments) > 2 and segments[1].lower() == "amp":
        segments = ["", *segments[2:]]
    while len(segments) > 1 and segments[-1] == "":
        segments.pop()
    if len(segments) > 2 and segments[-1].lower() == "amp":
        segments.pop()
    path = "/".join(segments) or "/"
    # 'story.amp.html' and 'story.amp' -> 'story.html' and 'story'.
    return re.sub(r"\.amp(\.html?)?$", lambda m: m.group(1) or "", path, flags=re.IGNORECASE)


def canonicalize(url: str) -> str:
    """Canonical form of an http(s) URL. Raises ``ValueError`` for anything else."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in HTTP_SCHEMES:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if not parts.hostname:
        raise ValueError(f"URL has no host: {url!r}")
    host = _idna_host(parts.hostname)
    port = parts.port  # raises ValueError on a bad port, which is what we want
    path = parts.path

    unwrapped = _unwrap_amp_cache(host, path)
    if unwrapped:
        scheme, inner_host, path = unwrapped
        host, port = _idna_host(inner_host.split(":")[0]), None

    if host.startswith("amp."):
        host = host[len("amp.") :]

    netloc = host if ":" not in host else f"[{host}]"  # IPv6 literal
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"

    # Only escapes of unreserved characters are decoded: decoding '%2F' would split a path segment.
    path = _normalize_escapes(path, safe="/:@!$&'()*+,;=")
    path = posixpath.normpath(path) if path not in ("", "/") else "/"
    if path.startswith("//"):  # normpath keeps a leading '//' (POSIX allows it); URLs do not need it
        path = "/" + path.lstrip("/")
    path = _strip_amp_path(path)
    if len(path) > 1:
        path = path.rstrip("/") or "/"

    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    query = urlencode(sorted(params), doseq=True)
    return urlunsplit((scheme, netloc, path, query, ""))


def same_site(a: str, b: str) -> bool:
    """Whether two URLs are on the same site, ignoring 'www.', 'amp.' and 'm.' prefixes.

    Used to decide whether a page's declared canonical URL may replace the URL it was fetched from: a page
    may name its own canonical URL, not claim another site's identity.
    """

    def base(url: str) -> str:
        host = host_of(url)
        for prefix in ("www.", "amp.", "m."):
            if host.startswith(prefix):
                host = host[len(prefix) :]
        return host

    return bool(base(a)) and base(a) == base(b)


__all__ = ["canonicalize", "host_of", "is_http_url", "same_site"]
