"""The review page: a small local web app (JSON API + one HTML page), or the same page as one static file.

The server is the standard library's ``ThreadingHTTPServer`` bound to 127.0.0.1 by default. It serves the
page, the review state, crops and page images named by opaque ids (never by path, so nothing outside the
results' own pages can be asked for), and takes decisions, each committed to the review store before the
reply. The static export embeds the same state with every crop and page as a data URI.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from digitscan.review import (
    CorrectionStore,
    Decision,
    ResultsDocument,
    ReviewItem,
    decide,
    label_text,
    parse_label,
    review_items,
)
from digitscan.review_images import PageImages, PageUnavailableError, crop_png, data_uri, page_jpeg

log = logging.getLogger(__name__)

MAX_BODY = 4096  # a decision is a few dozen bytes
_EMBED_PLACEHOLDER = '<script id="embedded-state" type="application/json">null</script>'
_PAGE_POLICY = "default-src 'self'; img-src 'self' data: blob:; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
_CROP_PATH = re.compile(r"/api/crops/([0-9a-f]{20})\.png")
_PAGE_PATH = re.compile(r"/api/pages/p([0-9]{1,7})\.jpg")


def page_template() -> str:
    """The review page (``digitscan/review_static/review.html``, shipped in the wheel)."""
    return resources.files("digitscan").joinpath("review_static/review.html").read_text(encoding="utf-8")


def _box_list(box: Any) -> list[int]:
    return [box.x, box.y, box.w, box.h]


@dataclass(frozen=True)
class _PageRef:
    file: str
    page: int


class ReviewSession:
    """What the review page shows and changes: the items, in review order, their pictures and decisions."""

    def __init__(self, document: ResultsDocument, images: PageImages, store: CorrectionStore | None) -> None:
        self.document = document
        self.images = images
        self.store = store
        self.items = review_items(document.run)
        self.by_id = {item.id: item for item in self.items}
        self.page_refs = list(dict.fromkeys(_PageRef(i.key.file, i.key.page) for i in self.items))
        self._page_index = {ref: index for index, ref in enumerate(self.page_refs)}

    def decisions(self) -> dict[str, Decision]:
        """The stored decisions on this session's items."""
        if self.store is None:
            return {}
        return {key: d for key, d in self.store.decisions().items() if key in self.by_id}

    def item_json(self, item: ReviewItem, crop_src: str | None, unavailable: str | None = None) -> dict[str, Any]:
        """One item as the page needs it: readings, where it is, and the crop's and boxes' page coordinates."""
        return {
            "id": item.id,
            "file": item.key.file,
            "page": item.key.page,
            "number": item.key.number,
            "position": item.key.position,
            "digit": item.digit.digit,
            "confidence": item.digit.confidence,
            "second_digit": item.digit.second_digit,
            "second_confidence": item.digit.second_confidence,
            "number_text": item.number.text,
            "page_width": item.page_width,
            "page_height": item.page_height,
            "crop": _box_list(item.context_box()),
            "number_box": _box_list(item.number.box),
            "digit_box": _box_list(item.digit.box),
            "crop_src": crop_src,
            "unavailable": unavailable,
            "page_ref": f"p{self._page_index[_PageRef(item.key.file, item.key.page)]}",
        }

    def state_json(self, crops: dict[str, str | None], pages: dict[str, str | None], apply_hint: str) -> dict[str, Any]:
        """The whole review state the page starts from."""
        name = self.document.path.name
        return {
            "results": name,
            "results_sha256": self.document.sha256,
            "corrections_name": f"{Path(name).stem}.corrections.json",
            "total": len(self.items),
            "items": [self.item_json(i, crops.get(i.id)) for i in self.items],
            "pages": pages,
            "decisions": {
                key: {"label": label_text(d.label), "decided_at": d.decided_at} for key, d in self.decisions().items()
            },
            "apply_hint": apply_hint,
        }

    def server_state(self) -> dict[str, Any]:
        """The state for the live page: crops and pages as URLs of this server."""
        crops: dict[str, str | None] = {i.id: f"api/crops/{i.id}.png" for i in self.items}
        pages: dict[str, str | None] = {f"p{n}": f"api/pages/p{n}.jpg" for n in range(len(self.page_refs))}
        store = self.store.path.name if self.store is not None else "the review store"
        hint = (
            f"Every answer is saved in {store}. Write the corrected results with: "
            f"digitscan apply {self.document.path.name} --out corrected.csv"
        )
        return self.state_json(crops, pages, hint)

    def crop(self, digit_id: str) -> bytes:
        """The PNG crop of one item's number in context; ``KeyError`` for an unknown id."""
        item = self.by_id[digit_id]
        return crop_png(self.images.page(item.key.file, item.key.page), item.context_box())

    def page(self, index: int) -> bytes:
        """The JPEG of one page holding review items; ``IndexError`` for an unknown page."""
        if not 0 <= index < len(self.page_refs):
            raise IndexError(index)
        ref = self.page_refs[index]
        return page_jpeg(self.images.page(ref.file, ref.page))

    def record(self, digit_id: str, label: object) -> tuple[int, int]:
        """Save (``label`` None: forget) the decision on one item; return (reviewed, total)."""
        if self.store is None:
            raise RuntimeError("this review session has no store")
        item = self.by_id[digit_id]
        if label is None:
            self.store.forget(digit_id)
        else:
            self.store.save(decide(item, parse_label(label)))
        return len(self.decisions()), len(self.items)

    def static_page(self) -> str:
        """One self-contained HTML page: crops and pages embedded, decisions exported as a corrections file."""
        crops: dict[str, str | None] = {}
        unavailable: dict[str, str] = {}
        pages: dict[str, str | None] = {}
        for index, ref in enumerate(self.page_refs):  # page by page: each page is loaded once
            try:
                pages[f"p{index}"] = data_uri(self.page(index), "image/jpeg")
            except PageUnavailableError:
                pages[f"p{index}"] = None
            for item in self.items:
                if (item.key.file, item.key.page) != (ref.file, ref.page):
                    continue
                try:
                    crops[item.id] = data_uri(self.crop(item.id), "image/png")
                except PageUnavailableError as exc:
                    crops[item.id], unavailable[item.id] = None, str(exc)
        name = self.document.path.name
        corrections = f"{Path(name).stem}.corrections.json"
        hint = (
            f"Export the decisions (E), then write the corrected results with: "
            f"digitscan apply {name} --corrections {corrections} --out corrected.csv"
        )
        state = self.state_json(crops, pages, hint)
        for item_state in state["items"]:
            item_state["unavailable"] = unavailable.get(item_state["id"])
        embedded = json.dumps(state, separators=(",", ":")).replace("<", "\\u003c")
        template = page_template()
        return template.replace(_EMBED_PLACEHOLDER, _EMBED_PLACEHOLDER.replace("null", embedded))


class ReviewServer(ThreadingHTTPServer):
    """The local review app for one :class:`ReviewSession`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, session: ReviewSession, host: str = "127.0.0.1", port: int = 0) -> None:
        self.session = session
        self.page_html = page_template().encode("utf-8")
        super().__init__((host, port), _Handler)
        bound_port = self.server_address[1]
        try:
            self.loopback_only = ip_address(host).is_loopback
        except ValueError:
            self.loopback_only = host == "localhost"
        names = ("127.0.0.1", "localhost", "[::1]", host)
        self.allowed_hosts = {f"{name}:{bound_port}" for name in names}

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        host, port = self.server_address[:2]
        host = str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds an idle or stalled connection may hold a thread

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(
        self, status: int, body: bytes, content_type: str, cache: str = "no-store", csp: str | None = None
    ) -> None:
        self.send_response(status)
        if csp is not None:
            self.send_header("Content-Security-Policy", csp)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _error(self, status: HTTPStatus, message: str) -> None:
        if self.command == "POST":  # the body may be unread: never parse it as the next request
            self.close_connection = True
        self._json(status, {"error": message})

    def _host_allowed(self) -> bool:
        """Refuse requests for another host name (DNS rebinding) when bound to loopback."""
        if not self.server.loopback_only:
            return True
        return self.headers.get("Host", "") in self.server.allowed_hosts

    def do_GET(self) -> None:
        if not self._host_allowed():
            self._error(HTTPStatus.FORBIDDEN, "unexpected Host header")
            return
        path = urlsplit(self.path).path
        session = self.server.session
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, self.server.page_html, "text/html; charset=utf-8", csp=_PAGE_POLICY)
        elif path == "/api/state":
            self._json(HTTPStatus.OK, session.server_state())
        elif (match := _CROP_PATH.fullmatch(path)) and match[1] in session.by_id:
            self._image(lambda: session.crop(match[1]), "image/png")
        elif (match := _PAGE_PATH.fullmatch(path)) and int(match[1]) < len(session.page_refs):
            self._image(lambda: session.page(int(match[1])), "image/jpeg")
        else:
            self._error(HTTPStatus.NOT_FOUND, "not found")

    def _image(self, render: Any, content_type: str) -> None:
        try:
            body = render()
        except PageUnavailableError as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc))
            return
        self._send(HTTPStatus.OK, body, content_type, cache="private, max-age=3600")

    def do_POST(self) -> None:
        if not self._host_allowed():
            self._error(HTTPStatus.FORBIDDEN, "unexpected Host header")
            return
        origin = self.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != self.headers.get("Host"):
            self._error(HTTPStatus.FORBIDDEN, "cross-origin requests are refused")
            return
        if urlsplit(self.path).path != "/api/decisions":
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        if self.headers.get_content_type() != "application/json":
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
            return
        try:
            length = int(self.headers.get("Content-Length", "-1"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._error(HTTPStatus.BAD_REQUEST, "a decision is a small JSON object")
            self.close_connection = True
            return
        try:
            message = json.loads(self.rfile.read(length))
            digit_id, label = str(message["id"]), message["label"]
            if digit_id not in self.server.session.by_id:
                self._error(HTTPStatus.NOT_FOUND, f"no digit {digit_id!r} to review in these results")
                return
            reviewed, total = self.server.session.record(digit_id, label)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, f"bad decision: {exc}")
            return
        except sqlite3.Error as exc:  # disk full, store locked: the page keeps the answer and retries
            log.error("cannot save a decision in %s: %s", self.server.session.store, exc)
            self._error(HTTPStatus.SERVICE_UNAVAILABLE, f"cannot save: {exc}")
            return
        self._json(HTTPStatus.OK, {"saved": True, "reviewed": reviewed, "total": total})
