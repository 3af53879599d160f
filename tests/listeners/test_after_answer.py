"""The wizard's work after the ack runs on the listener pool without Bolt's copy of the request (a lazy listener
has the raw body parsed again and the payload and context deep-copied on the ack's thread), and a failure there
is logged."""

from __future__ import annotations

import logging
import threading

import slack_bolt.listener.thread_runner as bolt_runner

from bot.slack.listeners.common import after_answer
from tests.kit import bots, view_text


def test_creating_a_credential_makes_no_copy_of_any_request(workspace, live_key, monkeypatch):
    copies = []
    real = bolt_runner.create_copy  # where Bolt copies a request for a lazy listener

    def counting(original):
        copies.append(type(original).__name__)
        return real(original)

    monkeypatch.setattr(bolt_runner, "create_copy", counting)
    view, _ = workspace.run_wizard("Uncopied", "paddle", live_key)
    assert "Credential created" in view_text(workspace.outcome(view["id"]))
    if bots.LIBRARY_SHORTCUTS == "false":  # the command and the final stage each went through a lazy listener
        assert copies == ["BoltRequest", "BoltRequest"]
        return
    assert copies == []
    workspace.home_button("home_create_credential", "create")  # still a Bolt lazy listener: copied, as a control
    assert copies == ["BoltRequest"]


class Executor:
    def submit(self, fn, *args):
        thread = threading.Thread(target=fn, args=args)
        thread.start()
        thread.join()


def test_work_after_the_answer_gets_its_arguments_and_a_failure_is_logged(caplog):
    context = {"services": type("Services", (), {"executor": Executor()})()}
    got = []
    after_answer(context, lambda *args: got.append(args), 1, "two")
    assert got == [(1, "two")]

    def broken_work():
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="bot.slack.listeners.common"):
        after_answer(context, broken_work)
    assert "work after the answer failed (broken_work)" in caplog.text
    assert "RuntimeError: boom" in caplog.text


def test_bolts_lazy_listener_path_the_shortcut_replaces_is_unchanged():
    """after_answer (a shortcut: docs/decisions/library-internals.md) stands in for Bolt's lazy listeners, which
    reach the listener pool as App(listener_executor=...) and copy the request with create_copy: an upgrade that
    changes either fails here."""
    import inspect

    from slack_bolt import App

    assert "listener_executor" in inspect.signature(App.__init__).parameters
    assert list(inspect.signature(bolt_runner.create_copy).parameters) == ["original"]
