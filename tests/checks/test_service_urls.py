"""How every lab's checks ask a service URL (labkit/checks/service_urls.py): asked again only while no
instance is ready, one answer per URL per check run, and an answer shown the same way in every lab."""
from pathlib import Path

import pytest

from labkit.checks import service_urls
from labkit.checks.core import CheckContext
from labkit.messages import said


@pytest.fixture
def ctx(tmp_path: Path) -> CheckContext:
    return CheckContext(endpoint="http://127.0.0.1:9", home=tmp_path)


def replies(monkeypatch, *answers):
    """Make net.get answer `answers` in turn (an OSError instance is raised); returns the URLs asked."""
    asked, queue = [], list(answers)

    def fake_get(url, timeout, endpoint):
        asked.append(url)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, OSError):
            raise answer
        return answer
    monkeypatch.setattr(service_urls.net, "get", fake_get)
    monkeypatch.setattr(service_urls, "RETRY_EVERY_S", 0.01)
    return asked


def test_a_starting_service_is_asked_again_until_it_answers(ctx, monkeypatch):
    asked = replies(monkeypatch, ConnectionRefusedError(), (503, "no instance"), (200, "Hello from GCP!\n"))
    assert service_urls.ask(ctx, "http://a.run.app/", timeout=1) == (200, "Hello from GCP!")
    assert len(asked) == 3


@pytest.mark.parametrize("status", [403, 404, 500])
def test_an_answer_that_is_the_apps_or_the_clouds_own_is_not_asked_again(ctx, monkeypatch, status):
    asked = replies(monkeypatch, (status, "no"), (200, "late"))
    assert service_urls.ask(ctx, "http://a.run.app/", timeout=1) == (status, "no")
    assert len(asked) == 1


def test_every_condition_of_a_run_sees_the_same_answer(ctx, monkeypatch):
    asked = replies(monkeypatch, (200, "one"), (200, "two"))
    assert service_urls.ask(ctx, "http://a.run.app/", 1) == service_urls.ask(ctx, "http://a.run.app/", 1) == (200, "one")
    assert len(asked) == 1


def test_nothing_answering_gives_up_after_the_grace(ctx, monkeypatch):
    asked = replies(monkeypatch, ConnectionRefusedError())
    assert service_urls.ask(ctx, "http://a.run.app/", timeout=1, grace=0.1) is None
    assert len(asked) >= 2


@pytest.mark.parametrize("reply, shown", [
    ((200, "Hello from AWS!"), "`Hello from AWS!`"),
    ((403, "<html><head><title>403 Forbidden</title></head><body>...</body></html>"), "HTTP 403 (403 Forbidden)"),
    ((503, "no healthy upstream"), "HTTP 503: no healthy upstream"),
    ((502, ""), "HTTP 502"),
])
def test_an_answer_is_shown_as_its_body_or_its_status_and_what_the_page_says(reply, shown):
    assert service_urls.shown(reply) == shown


def test_no_answer_is_said_in_the_readers_language():
    value = service_urls.shown(None)
    assert said(value, "en") != said(value, "ko")
    assert "\n" not in said(value, "en") and said(value, "ko")
