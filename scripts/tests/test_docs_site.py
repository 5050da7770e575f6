"""The generated docs site renders, in a real browser, the descriptions analysts rely on.

Runs `dbt docs generate` on the session's built DuckDB warehouse (conftest.py) into a
temporary target path, serves it on 127.0.0.1 (http.server in a thread, free port), and
drives Debian's headless `/usr/bin/chromium`: `--dump-dom` of the flow_metadata page and of a
KPI page must contain their descriptions, and a screenshot of the flow_metadata page is saved
as the test artifact `artifacts/docs-flow_metadata.png`. Without chromium the test is skipped
with a message, except in CI (`CI` set, or FXA_REQUIRE_BROWSER=1), where it fails.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import PROJECT_ROOT, BuiltWarehouse
from test_docs_coverage import missing_descriptions, undeclared_columns

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("FXA_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "artifacts"
SCREENSHOT = ARTIFACTS / "docs-flow_metadata.png"
FLOW_METADATA = "model.fxa_metrics.flow_metadata"
KPI = "model.fxa_metrics.kpi_flow_funnel_daily"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        message = (
            f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y chromium`) "
            "or point FXA_CHROMIUM at a Chromium binary"
        )
        if os.environ.get("CI") or os.environ.get("FXA_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def docs_site(
    tmp_path_factory: pytest.TempPathFactory, built_warehouses: Callable[[str], BuiltWarehouse]
) -> Path:
    """The target/ folder `dbt docs generate` wrote for the built DuckDB warehouse."""
    warehouse = built_warehouses("duckdb").warehouse.at(tmp_path_factory.mktemp("docs_site"))
    warehouse.dbt("docs", "generate")
    return warehouse.work_dir / "target"


@pytest.fixture(scope="module")
def site_url(docs_site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(docs_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


def _chromium(binary: str, profile: Path, *arguments: str) -> str:
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=20000",
        *arguments,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stderr[-2000:]}"
    return result.stdout


def _words(text: str) -> str:
    """Lowercase words and numbers only: markup and punctuation differ between the
    markdown of a description and the text the site renders from it."""
    return " ".join(re.findall(r"[0-9a-z]+", text.lower()))


def _text(dom: str) -> str:
    """The visible text of a DOM dump, as _words."""
    dom = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", dom)
    return _words(html.unescape(re.sub(r"<[^>]+>", " ", dom)))


def _plain(markdown: str, words: int = 8) -> str:
    """The first words of a description's first paragraph, as _words."""
    first_paragraph = markdown.strip().split("\n\n")[0]
    first_paragraph = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", first_paragraph)
    return " ".join(_words(first_paragraph).split()[:words])


def _manifest(docs_site: Path) -> dict[str, Any]:
    return json.loads((docs_site / "manifest.json").read_text())


def test_generated_site_documents_everything(docs_site: Path) -> None:
    manifest = _manifest(docs_site)
    catalog = json.loads((docs_site / "catalog.json").read_text())
    assert missing_descriptions(manifest) == []
    assert undeclared_columns(manifest, catalog) == []


@pytest.mark.parametrize("unique_id", [FLOW_METADATA, KPI])
def test_model_page_renders_its_descriptions(
    docs_site: Path, site_url: str, chromium: str, tmp_path: Path, unique_id: str
) -> None:
    node = _manifest(docs_site)["nodes"][unique_id]
    dom = _chromium(chromium, tmp_path / "profile", "--dump-dom", f"{site_url}#!/model/{unique_id}")
    text = _text(dom)
    assert _words(node["name"]) in text
    assert node["description"].strip(), f"{unique_id} has no description to render"
    assert _plain(node["description"]) in text, f"description of {unique_id} not rendered"
    for name, column in node["columns"].items():
        assert _words(name) in text, f"column {name} not listed"
        assert _plain(column["description"], 5) in text, f"description of {name} not rendered"


def test_screenshot_of_flow_metadata_page(site_url: str, chromium: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    _chromium(
        chromium,
        tmp_path / "profile",
        "--hide-scrollbars",
        "--window-size=1400,1800",
        f"--screenshot={SCREENSHOT}",
        f"{site_url}#!/model/{FLOW_METADATA}",
    )
    assert SCREENSHOT.exists() and SCREENSHOT.stat().st_size > 10_000
