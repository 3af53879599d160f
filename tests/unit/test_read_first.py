"""The read-first worker (bot/slack/server/read_first.py): its framing rules, the gunicorn internals it stands on
(tripwires: an upgrade that changes them fails here), and the worker itself run in this process on loopback."""

from __future__ import annotations

import inspect
import os
import selectors
import socket
import threading
import time

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.http.unreader import Unreader
from gunicorn.workers.gthread import TConn, ThreadWorker

from bot.infra import metrics
from bot.slack.server.read_first import MAX_HEAD_BYTES, framing, read_first_worker

HEAD = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"


@pytest.mark.parametrize(
    "data, whole, answer, stage",
    [
        (b"POST /slack/ev", False, 0, "headers"),
        (HEAD[:-2], False, 0, "headers"),
        (HEAD + b"abc", False, 0, "body"),
        (HEAD + b"abcde", True, 0, "body"),
        (HEAD + b"abcdeGET / HTTP/1.1\r\n", True, 0, "body"),  # a pipelined request behind it waits its turn
        (b"\r\n" + HEAD + b"abcde", True, 0, "body"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", True, 0, "body"),
        (b"POST / HTTP/1.1\r\ncontent-LENGTH:  5 \r\n\r\n12345", True, 0, "body"),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", True, 0, "headers"),  # gunicorn 400
        (b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", True, 0, "headers"),
        (b"POST / HTTP/1.1\r\nContent-Length: \xd9\xa5\r\n\r\n", True, 0, "headers"),  # not ASCII digits
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n", False, 411, "headers"),
        (b"POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", False, 413, "headers"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD_BYTES, False, 431, "headers"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n", False, 431, "headers"),
    ],
)
def test_framing_tells_a_whole_request_from_a_part_of_one(data, whole, answer, stage):
    verdict = framing(data, max_body=1024)
    assert (verdict.whole, verdict.answer) == (whole, answer)
    if not answer and not verdict.whole:
        assert verdict.stage == stage


def test_framing_asks_for_a_100_continue_only_while_the_body_is_missing():
    head = b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
    assert framing(head, 1024).expects_continue
    assert not framing(head + b"abc", 1024).expects_continue


# --- the gunicorn internals the worker relies on (tripwires)


def test_gunicorn_hands_every_connection_to_its_threads_through_enqueue_req():
    """ReadFirstWorker overrides ThreadWorker.enqueue_req(conn): gunicorn must still call it (and only it) wherever a
    connection goes to the pool, or a path would bypass the read deadline."""
    assert list(inspect.signature(ThreadWorker.enqueue_req).parameters) == ["self", "conn"]
    for caller in (ThreadWorker.accept, ThreadWorker.on_client_socket_readable, ThreadWorker.finish_request):
        source = inspect.getsource(caller)
        assert "self.enqueue_req(conn)" in source and "tpool.submit" not in source, caller.__name__
    submits = [name for name, f in vars(ThreadWorker).items() if callable(f) and "tpool.submit" in _source(f)]
    assert submits == ["enqueue_req"]


def test_gunicorn_sweeps_pending_connections_in_its_loop_and_skips_the_wait_for_an_initialised_one():
    run = inspect.getsource(ThreadWorker.run)
    assert run.count("self.murder_pending()") == 2  # serving and stopping
    assert list(inspect.signature(ThreadWorker.murder_pending).parameters) == ["self"]
    assert "if not conn.initialized and not conn.data_ready:" in inspect.getsource(ThreadWorker.handle)
    assert {"init", "close"} <= set(vars(TConn)) and "self.parser = None" in inspect.getsource(TConn.__init__)


def test_gunicorns_unreader_gives_back_its_buffer_and_reads_unread_bytes_first():
    class Source(Unreader):
        def chunk(self, size_hint=None):
            return b" and the socket"

    unreader = Source()
    unreader.unread(b"buffered")
    assert unreader.take_buffered() == b"buffered" and unreader.take_buffered() == b""
    unreader.unread(b"rest")
    unreader.unread(b"first ")
    assert unreader.read(10) == b"first rest"


def _source(function) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


# --- the worker, run in this process


class Served:
    """A ReadFirstWorker (0.5 s deadline, 1 KiB bodies) on a loopback port, its loop in a thread."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        cfg = Config()
        cfg.set("threads", 2)
        worker_class = read_first_worker(0.5, 1024)
        self.worker = worker_class(0, os.getppid(), [self.listener], None, 30, cfg, Logger(cfg))
        self.worker.wsgi = self.app
        # what ThreadWorker.init_process sets up before gunicorn's own start-up, which would install signal handlers
        self.worker.tpool = self.worker.get_thread_pool()
        self.worker.poller = selectors.DefaultSelector()
        self.worker.method_queue.init()
        self.thread = threading.Thread(target=self.worker.run, daemon=True)
        self.thread.start()

    def app(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.bodies.append(environ["wsgi.input"].read(length))
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    def connect(self) -> socket.socket:
        return socket.create_connection(self.listener.getsockname(), timeout=5)

    def stop(self) -> None:
        self.worker.alive = False
        self.worker.method_queue.defer(lambda: None)
        self.thread.join(timeout=10)
        self.worker.tmp.close()


@pytest.fixture
def served():
    served = Served()
    yield served
    served.stop()


def read_answers(sock: socket.socket, count: int) -> bytes:
    data = b""
    while data.count(b"HTTP/1.1 ") < count or not data.endswith((b"ok", b"}")):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_a_request_sent_in_pieces_within_the_deadline_is_served_whole_and_so_is_the_next_on_the_connection(served):
    with served.connect() as sock:
        for piece in (HEAD[:10], HEAD[10:], b"ab", b"cde"):
            sock.sendall(piece)
            time.sleep(0.05)  # the slowness under test
        assert read_answers(sock, 1).startswith(b"HTTP/1.1 200 OK")
        sock.sendall(HEAD + b"12345" + HEAD + b"67890")  # kept alive, two pipelined
        assert read_answers(sock, 2).count(b"HTTP/1.1 200 OK") == 2
    assert served.bodies == [b"abcde", b"12345", b"67890"]


def counted(stage: str) -> float:
    return metrics.REGISTRY.get_sample_value("credbot_http_slow_clients_total", {"stage": stage}) or 0.0


@pytest.mark.parametrize("sent, stage", [(HEAD[:20], "headers"), (HEAD + b"ab", "body")])
def test_a_request_not_in_by_the_deadline_is_answered_408_and_counted_and_no_thread_saw_it(served, sent, stage):
    before = counted(stage)
    with served.connect() as sock:
        started = time.monotonic()
        sock.sendall(sent)
        answer = read_answers(sock, 1)
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and b"Connection: close" in answer
    assert 0.45 <= took <= 2.0
    assert counted(stage) == before + 1
    assert served.bodies == []


def test_a_silent_connection_is_closed_at_the_deadline_without_an_answer(served):
    before = counted("idle")
    with served.connect() as sock:
        assert sock.recv(100) == b""
    assert counted("idle") == before + 1


@pytest.mark.parametrize(
    "head, status",
    [
        (b"POST / HTTP/1.1\r\nContent-Length: 1025\r\n\r\n", b"413"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", b"411"),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", b"400"),
    ],
)
def test_what_cannot_be_read_whole_is_answered_at_once_before_any_body(served, head, status):
    with served.connect() as sock:
        started = time.monotonic()
        sock.sendall(head)
        answer = read_answers(sock, 1)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:80]
    assert time.monotonic() - started < 0.4 and served.bodies == []


def test_a_client_that_expects_100_continue_is_told_to_go_on(served):
    with served.connect() as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"abc")
        assert b"200 OK" in read_answers(sock, 1)
    assert served.bodies == [b"abc"]
