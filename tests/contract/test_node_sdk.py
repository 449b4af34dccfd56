# ruff: noqa: F811 - the gateway tests' fixtures are imported to be used here
"""The official ``openai`` Node SDK (pinned in ``tests/node/package.json``, installed by
``make setup``) against the real server: ``files.create``, ``vectorStores.create``,
``vectorStores.files.createAndPoll`` / ``uploadAndPoll`` / ``update``,
``vectorStores.search`` with filters and ``responses.create`` with ``file_search``.

Node is part of what CI installs (``bin/os-packages``): without it, or without the SDK
installed, this test fails rather than skips."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.gateway.conftest import catalog, fake, funded, make_key, server, upstream  # noqa: F401 - fixtures
from tests.retrieval.test_api import priced  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)
NODE_DIR = Path(__file__).resolve().parents[1] / "node"
MIN_NODE = 20  # the SDK's supported runtimes (its README)


def node_script() -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: bin/os-packages --install adds nodejs and npm")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout
    if int(version.lstrip("v").split(".")[0]) < MIN_NODE:
        pytest.fail(f"node {version.strip()}: the openai Node SDK needs Node {MIN_NODE} or later")
    if not (NODE_DIR / "node_modules" / "openai" / "package.json").exists():
        pytest.fail("the openai Node SDK is not installed: run make setup (npm ci in tests/node)")
    return [node, str(NODE_DIR / "sdk_contract.mjs")]


def test_the_node_sdk_runs_files_vector_stores_search_and_file_search(server, make_key, priced):
    secret = make_key(scopes=["chat", "alretrieval"])
    ran = subprocess.run(
        node_script(),
        env={"PATH": "/usr/bin:/bin", "PORTICO_URL": server.url, "PORTICO_KEY": secret},
        capture_output=True,
        text=True,
        timeout=180,
        cwd=NODE_DIR,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    out = json.loads(ran.stdout)

    assert out["file"]["object"] == "file" and out["file"]["filename"] == "notes.txt"
    assert out["store"]["id"].startswith("vs_") and out["store"]["object"] == "vector_store"
    assert out["attached"] == {"id": out["file"]["id"], "status": "completed"}
    assert out["guide"]["status"] == "completed"
    assert out["counts"]["completed"] == out["counts"]["total"] == 2

    assert {hit["filename"] for hit in out["everything"]} == {"notes.txt", "guide.md"}
    [only] = out["filtered"]
    assert (only["file_id"], only["filename"]) == (out["guide"]["id"], "guide.md")
    assert only["attributes"] == {"kind": "guide", "year": 2024}
    assert "Pharos" in only["text"] and only["page_start"] == 1 and 0 < only["score"] <= 1

    response = out["response"]
    assert response["status"] == "completed"
    assert response["output_types"] == ["file_search_call", "message"]
    assert response["queries"] and "guide.md" in response["results"]
    assert response["output_text"]
    assert response["usage"]["total_tokens"] > 0
