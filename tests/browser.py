"""Reports as a person sees them: what a page would fetch from the network, and its DOM in an offline browser.

`external_loads` reads a page (and the local stylesheets it links) for anything a browser would load from the
network: `src`/`srcset` of any element, `href` of `<link>` and other non-anchor elements, CSS `@import` and
`url()`. Links a person may click (`<a href>`) are not loads. `dump_dom` opens a page in headless Chromium with
every network route closed and returns the DOM after its scripts ran.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from tests.processes import run
from tests.required_tools import missing_tool

# Debian's package installs `chromium`; Ubuntu's snap shim and older distributions `chromium-browser`; Google's
# packages `google-chrome(-stable)`; some images `chrome`.
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_BROWSER = "`sudo apt-get install chromium` (Debian/Ubuntu), or `make browser` as root"
NOT_LOADS = {"a", "area"}  # elements whose href a person follows; everything else with src/href is fetched
LOCAL = re.compile(r"^(data:|#|about:blank$|javascript:)", re.IGNORECASE)
CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)""", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+?)["']?\s*\)""", re.IGNORECASE)
# Headless, no GPU, no sandbox (CI runs as root), and as little as possible that Chromium would fetch on its own:
# no QUIC, no component/safe-browsing updates, no sync, no first-run pages, a throwaway profile.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--safebrowsing-disable-auto-update",
    "--metrics-recording-only",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
    "--enable-logging=stderr",  # the page's console (script errors) on stderr
    "--v=0",
)
# Chromium's own services, which it calls whatever the page is (seen on Chromium 156 despite the flags above);
# any other host a page asks for is the page reaching for the network.
CHROMIUM_OWN_HOSTS = frozenset(
    {"update.googleapis.com", "accounts.google.com", "clients2.google.com", "optimizationguide-pa.googleapis.com"}
)
CONSOLE = re.compile(r":INFO:CONSOLE[^]]*\] (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class OfflineView:
    """What a page did in a browser with no network: its DOM after scripts ran, its console, its requests."""

    dom: str
    console: list[str]
    requests: list[str]  # request lines the page sent (to the trap proxy), Chromium's own services left out

    @property
    def script_errors(self) -> list[str]:
        return [line for line in self.console if "Uncaught" in line]


class NetworkTrap:
    """A proxy to nowhere on 127.0.0.1 (a port the OS picks): records each request line and answers 403."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> NetworkTrap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        # close() alone does not wake a thread blocked in accept() on Linux (the join then waited its full timeout,
        # 10 s per page opened); shutdown() does, with EINVAL, and _serve returns.
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            raise RuntimeError("the network trap's thread did not stop")

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                try:
                    first = connection.recv(8192).split(b"\r\n", 1)[0]
                    if not first:
                        # Chromium opens spare connections to its proxy ahead of need and closes them unused at
                        # exit: a connection that sent nothing asked for nothing (CI once recorded one as '').
                        continue
                    self.lines.append(first.decode("latin-1"))
                    connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def page_requests(self) -> list[str]:
        return [line for line in self.lines if _request_host(line) not in CHROMIUM_OWN_HOSTS]


def _request_host(line: str) -> str:
    """The host of a proxy request line: `CONNECT host:443 HTTP/1.1` or `GET http://host/path HTTP/1.1`."""
    parts = line.split(" ")
    target = parts[1] if len(parts) > 1 else ""
    if parts[0] == "CONNECT":
        return target.rsplit(":", 1)[0]
    return urlsplit(target).hostname or ""


def find_browser() -> str | None:
    """The path of the first usual Chromium/Chrome executable on PATH, or None."""
    return next((found for name in BROWSER_NAMES if (found := shutil.which(name))), None)


def browser() -> str:
    """The browser to test with; skips the test (fails it under CI=true) with the install command if none."""
    found = find_browser()
    if found is None:
        missing_tool(f"a headless browser ({' or '.join(BROWSER_NAMES)})", INSTALL_BROWSER)
    return found  # type: ignore[return-value]  # missing_tool never returns


def open_offline(page: Path, budget_ms: int = 10_000, timeout_s: float = 180) -> OfflineView:
    """Open `page` in headless Chromium with no network: every request goes to a trap proxy that records and
    refuses it, and host names resolve nowhere. Returns the DOM after its scripts ran (up to `budget_ms` of
    virtual time), the console lines, and the requests the page made."""
    executable = browser()
    with NetworkTrap() as trap, tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = run(
            [
                executable,
                *CHROMIUM_FLAGS,
                f"--proxy-server=http://127.0.0.1:{trap.port}",
                "--proxy-bypass-list=<-loopback>",  # loopback goes to the trap too
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            page.parent,
            timeout_s=timeout_s,
        )
    return OfflineView(done.stdout, CONSOLE.findall(done.stderr), trap.page_requests())


def dump_dom(page: Path, budget_ms: int = 10_000, timeout_s: float = 180) -> str:
    """The DOM of `page` after its scripts ran, opened with no network (see open_offline)."""
    return open_offline(page, budget_ms, timeout_s).dom


class _Loads(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "src" or (name in {"href", "xlink:href"} and tag not in NOT_LOADS) or name == "poster":
                self.urls.append(value.strip())
            elif name == "srcset":
                self.urls += [part.strip().split(" ")[0] for part in value.split(",") if part.strip()]
            elif name == "style":
                self.css.append(value)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.css.append(data)


def css_loads(css: str) -> list[str]:
    """The URLs a stylesheet loads: `@import` targets and `url()`s."""
    return CSS_IMPORT.findall(css) + CSS_URL.findall(css)


def is_external(url: str) -> bool:
    """True when a browser would go to the network for `url` (absolute http(s), protocol-relative, other schemes)."""
    url = url.strip()
    if not url or LOCAL.match(url):
        return False
    return bool(re.match(r"^([a-z][a-z0-9+.-]*:|//)", url, re.IGNORECASE)) and not url.lower().startswith("file:")


def external_loads(page: Path) -> list[str]:
    """Every network load of `page` (and of the local stylesheets it links), as `page: url` lines; and every local
    file it loads that does not exist, as `page: missing url`."""
    parser = _Loads()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    found: list[str] = []
    css_sources = [(page, text) for text in parser.css]
    for url in parser.urls:
        if is_external(url):
            found.append(f"{page}: {url}")
            continue
        if LOCAL.match(url):
            continue
        target = (page.parent / url.split("#")[0].split("?")[0]).resolve()
        if not target.is_file():
            found.append(f"{page}: missing {url}")
        elif target.suffix == ".css":
            css_sources.append((target, target.read_text(encoding="utf-8", errors="replace")))
    for origin, css in css_sources:
        for url in css_loads(css):
            if is_external(url):
                found.append(f"{origin}: {url}")
    return found


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "template"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "template"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(dom: str) -> str:
    """The text of a DOM as a person reads it: no scripts or styles, whitespace collapsed to single spaces."""
    parser = _Text()
    parser.feed(dom)
    return " ".join(" ".join(parser.parts).split())
