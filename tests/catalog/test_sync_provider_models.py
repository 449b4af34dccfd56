"""``sync_provider_models`` against real HTTP servers on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Deployment, Model, Provider
from catalog.provider_sync import SyncError, sync_provider_models
from fakeupstream import FakeUpstream

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def upstream_server() -> Iterator[FakeUpstream]:
    server = FakeUpstream.start()
    yield server
    server.stop()


@pytest.fixture
def upstream(upstream_server: FakeUpstream) -> FakeUpstream:
    upstream_server.reset()
    return upstream_server


@pytest.fixture
def failing_server() -> Iterator[str]:
    """A loopback server whose every answer is a 500 with a JSON error body."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"error": {"message": "upstream exploded", "type": "server_error"}}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def make_provider(base_url: str, *, name: str = "fake", kind: str = "openai") -> Provider:
    provider = Provider(name=name, kind=kind, base_url=base_url, first_byte_timeout=5)
    provider.set_api_key("sk-upstream-secret")
    provider.save()
    return provider


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_it_adds_a_disabled_model_and_a_deployment_for_each_new_upstream_model(upstream):
    provider = make_provider(upstream.base_url)

    report = sync_provider_models(provider)

    assert report.added == [
        ("fake/fake-embed", "fake-embed"),
        ("fake/fake-llm", "fake-llm"),
        ("fake/fake-llm-2", "fake-llm-2"),
    ]
    models = {m.public_id: m for m in Model.objects.all()}
    assert set(models) == {"fake/fake-embed", "fake/fake-llm", "fake/fake-llm-2"}
    assert not any(m.enabled for m in models.values())
    assert models["fake/fake-embed"].type == "embedding"
    assert models["fake/fake-llm"].type == "llm"
    assert models["fake/fake-llm"].owned_by == "fake"
    assert Deployment.objects.filter(provider=provider).count() == 3
    request = upstream.last_request()
    assert (request["method"], request["path"]) == ("GET", "/v1/models")
    assert request["headers"]["authorization"] == "Bearer sk-upstream-secret"
    assert any("disabled" in line for line in report.lines())


def test_a_second_sync_skips_what_is_already_deployed(upstream):
    provider = make_provider(upstream.base_url)
    existing = Model.objects.create(public_id="fake-llm", type="llm")
    Deployment.objects.create(model=existing, provider=provider, upstream_model="fake-llm")

    first = sync_provider_models(provider)
    second = sync_provider_models(provider)

    assert ("fake-llm", "already deployed as fake-llm") in first.skipped
    assert [public_id for public_id, _ in first.added] == ["fake/fake-embed", "fake/fake-llm-2"]
    assert second.added == []
    assert len(second.skipped) == 3
    assert Model.objects.count() == 3


def test_a_dry_run_reports_without_saving(upstream):
    provider = make_provider(upstream.base_url)

    report = sync_provider_models(provider, dry_run=True)

    assert len(report.added) == 3
    assert report.lines()[0].startswith("Would add: fake/fake-embed")
    assert not Model.objects.exists()


def test_it_can_enable_and_price_the_new_models(upstream):
    provider = make_provider(upstream.base_url)

    sync_provider_models(
        provider,
        enable=True,
        model_type="llm",
        input_price=Decimal("0.10"),
        output_price=Decimal("0.20"),
    )

    for model in Model.objects.all():
        assert model.enabled
        assert model.type == "llm"
        assert (model.input_price_per_1m, model.output_price_per_1m) == (
            Decimal("0.10"),
            Decimal("0.20"),
        )


def test_an_upstream_error_names_the_status_and_the_body(failing_server):
    provider = make_provider(failing_server)

    with pytest.raises(SyncError) as excinfo:
        sync_provider_models(provider)

    message = str(excinfo.value)
    assert f"GET {failing_server}/models answered 500" in message
    assert "upstream exploded" in message
    assert not Model.objects.exists()


def test_an_unreachable_host_is_a_clear_error():
    provider = make_provider(closed_port_url())

    with pytest.raises(SyncError, match=r"cannot reach http://127\.0\.0\.1:"):
        sync_provider_models(provider)


def test_only_openai_compatible_providers_can_be_synced(upstream):
    provider = make_provider(upstream.base_url, kind="anthropic")

    with pytest.raises(SyncError, match="only OpenAI-compatible providers"):
        sync_provider_models(provider)


def test_the_command_prints_what_it_added(upstream):
    make_provider(upstream.base_url)
    out = StringIO()

    call_command(
        "sync_provider_models", "fake", "--price-in", "0.5", "--price-out", "1.5", stdout=out
    )

    assert "Added: fake/fake-llm → fake/fake-llm" in out.getvalue()
    assert "fake: 3 added, 0 skipped." in out.getvalue()
    assert Model.objects.get(public_id="fake/fake-llm").output_price_per_1m == Decimal("1.5")


def test_the_command_turns_failures_into_command_errors(failing_server):
    make_provider(failing_server)

    with pytest.raises(CommandError, match="answered 500"):
        call_command("sync_provider_models", "fake")
    with pytest.raises(CommandError, match="unknown provider 'nope' \\(known: fake\\)"):
        call_command("sync_provider_models", "nope")
