"""The offline browser the report tests rely on catches a page that reaches for the network, and only that."""

from __future__ import annotations

from pathlib import Path

from tests.browser import open_offline


def test_a_page_loading_a_cdn_script_is_caught_and_a_self_contained_page_is_not(tmp_path: Path) -> None:
    online = tmp_path / "online.html"
    online.write_text(
        '<html><head><script src="https://cdn.example.org/lib.js"></script></head><body><p>cdn</p></body></html>'
    )
    offline = tmp_path / "offline.html"
    offline.write_text("<html><head><style>p{color:red}</style></head><body><p>self-contained</p></body></html>")

    caught = open_offline(online, budget_ms=2_000, timeout_s=120)
    clean = open_offline(offline, budget_ms=2_000, timeout_s=120)

    assert any("cdn.example.org" in line for line in caught.requests), caught.requests
    assert all(line.strip() for line in caught.requests), caught.requests  # no empty request lines
    assert clean.requests == []
    assert "self-contained" in clean.dom
