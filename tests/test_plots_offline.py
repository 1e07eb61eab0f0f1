"""`dvc plots show` renders offline: the repository's DVC config points at a page with Vega inlined."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.reports.vega_offline import TEMPLATE, build_page, read_bundles
from tests.workspaces import export_files

REPO = Path(__file__).resolve().parent.parent
EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\ssrc\s*=", re.IGNORECASE)
BUNDLES = {"vega": "var vega={};", "vega-lite": "var vegaLite={};", "vega-embed": "var e=1;"}


def test_build_page_inlines_the_three_bundles_in_load_order_and_keeps_only_the_plots_placeholder() -> None:
    page = build_page(BUNDLES)
    assert page.index("var vega={}") < page.index("var vegaLite={}") < page.index("var e=1")
    assert "{plot_divs}" in page and "{refresh_tag}" in page
    assert "{scripts}" not in page  # where DVC would add its CDN <script src=...> tags
    assert not EXTERNAL_SCRIPT.search(page)


@pytest.mark.parametrize(
    ("bundles", "message"),
    [
        ({k: v for k, v in BUNDLES.items() if k != "vega-embed"}, "missing packages"),
        ({**BUNDLES, "vega": "x='</script>'"}, "</script"),
        ({**BUNDLES, "vega": "x='{plot_divs}'"}, "placeholder"),
    ],
)
def test_build_page_refuses_bundles_it_cannot_inline_safely(bundles: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_page(bundles)


def test_repository_config_points_dvc_at_the_committed_offline_template() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / ".dvc/config")
    assert REPO / ".dvc" / config["plots"]["html_template"] == REPO / TEMPLATE
    page = (REPO / TEMPLATE).read_text()
    assert "{plot_divs}" in page and "{scripts}" not in page
    assert not EXTERNAL_SCRIPT.search(page)
    # the committed page is exactly what the vendored scripts build: one copy of Vega in the source tree
    assert page == build_page(read_bundles())


def test_dvc_plots_show_writes_a_page_without_network_scripts(tmp_path: Path) -> None:
    """A throwaway DVC repository with this repository's plots config: the real `dvc plots show` output."""
    export_files(tmp_path, [".dvc/plots", ".dvc/config"])  # as committed
    (tmp_path / "history.csv").write_text("epoch,loss\n0,3.0\n1,2.0\n2,1.5\n")
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "plots", "show", "history.csv", "-x", "epoch", "-y", "loss", "-o", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"DVC_NO_ANALYTICS": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "out/index.html").read_text()
    assert "vegaEmbed(" in page  # the plot is there...
    assert not EXTERNAL_SCRIPT.search(page)  # ...and nothing is fetched to draw it
    assert "cdn.jsdelivr" not in page
