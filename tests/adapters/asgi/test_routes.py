"""
The static routes: content types, caching headers, 304s, and nothing outside the folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aigclabel.adapters.asgi import static_routes
from starlette.applications import Starlette
from starlette.testclient import TestClient


@pytest.fixture(name="folder")
def _folder(tmp_path: Path) -> Path:
    """
    A static folder with a script, a style sheet, a page and a file of an unknown type.
    """
    (tmp_path / "app.js").write_text("export const x = 1;\n", encoding="utf-8")
    (tmp_path / "site.css").write_text("body{}\n", encoding="utf-8")
    (tmp_path / "page.html").write_text("<p>hi</p>\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("no\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.js").write_text("1\n", encoding="utf-8")
    return tmp_path


@pytest.fixture(name="http")
def _http(folder: Path) -> TestClient:
    return TestClient(Starlette(routes=[static_routes("/s", directory=folder)]))


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("site.css", "text/css; charset=utf-8"),
        ("page.html", "text/html; charset=utf-8"),
    ],
)
def test_content_types_and_cache_headers(http: TestClient, name: str, content_type: str) -> None:
    """
    Each file is served with its explicit content type, an ETag, no-cache and nosniff.
    """
    response = http.get(f"/s/{name}")
    assert (200, content_type) == (response.status_code, response.headers["content-type"])
    assert ("no-cache", "nosniff") == (
        response.headers["cache-control"],
        response.headers["x-content-type-options"],
    )
    assert response.headers["etag"].startswith('"')


def test_matching_etag_gives_304(http: TestClient) -> None:
    """
    A revalidation with the current ETag gets 304 and no body.
    """
    etag = http.get("/s/app.js").headers["etag"]
    response = http.get("/s/app.js", headers={"if-none-match": etag})
    assert (304, b"") == (response.status_code, response.content)


@pytest.mark.parametrize("path", ["secret.txt", "sub/x.js", "..%2Fapp.js", "missing.js", ".hidden.js"])
def test_only_known_files_in_the_folder(http: TestClient, path: str) -> None:
    """
    Unknown types, subfolders, traversal and missing files are 404.
    """
    assert 404 == http.get(f"/s/{path}").status_code


def test_package_files_are_served() -> None:
    """
    By default the package's own static folder is served (the web component).
    """
    http = TestClient(Starlette(routes=[static_routes()]))
    response = http.get("/static/aigc/aigc-disclosure.js")
    assert (200, "text/javascript; charset=utf-8") == (response.status_code, response.headers["content-type"])
    assert b"aigc-disclosure" in response.content


@pytest.mark.parametrize("prefix", ["static", "/static/"])
def test_bad_prefix_raises(prefix: str) -> None:
    """
    A prefix must start with ``/`` and not end with one.
    """
    with pytest.raises(ValueError, match="prefix"):
        static_routes(prefix)
