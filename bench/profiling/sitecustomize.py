"""Profile a served Credbot (or bare Bolt) with pyinstrument, without touching bot/.

Put this directory first on the served process's PYTHONPATH and set BENCH_PROFILE_DIR. In every process
that is not the one that imported it first (the gunicorn workers) it profiles each Slack request
(SlackRequestHandler.__call__, i.e. until Slack's ack) and each job run on a ThreadPoolExecutor (Bolt's
lazy listeners: views.open, Paddle check, save, views.update, announcements), combines the sessions and
writes <dir>/<pid>-ack.txt / -lazy.txt (and .html) when the worker exits.
"""

import atexit
import os
import threading

_DIR = os.environ.get("BENCH_PROFILE_DIR")
if _DIR:
    import concurrent.futures.thread as _thread

    from pyinstrument import Profiler
    from pyinstrument.renderers import ConsoleRenderer
    from pyinstrument.session import Session

    _MASTER = os.getpid()
    _lock = threading.Lock()
    _sessions: dict = {}
    _INTERVAL = float(os.environ.get("BENCH_PROFILE_INTERVAL", "0.0005"))

    def _profiled(kind, fn, *args, **kwargs):
        if os.getpid() == _MASTER:
            return fn(*args, **kwargs)
        profiler = Profiler(interval=_INTERVAL, async_mode="disabled")
        profiler.start()
        try:
            return fn(*args, **kwargs)
        finally:
            session = profiler.stop()
            with _lock:
                previous = _sessions.get(kind)
                _sessions[kind] = session if previous is None else Session.combine(previous, session)

    def _dump():
        if os.getpid() == _MASTER:
            return
        with _lock:
            for kind, session in _sessions.items():
                base = os.path.join(_DIR, f"{os.getpid()}-{kind}")
                with open(base + "-tree.txt", "w") as fh:
                    fh.write(ConsoleRenderer(unicode=True, time="percent_of_total").render(session))
                with open(base + "-flat.txt", "w") as fh:
                    fh.write(ConsoleRenderer(flat=True, time="percent_of_total").render(session))
                with open(base + "-cumulative.txt", "w") as fh:
                    fh.write(_cumulative(session))

    def _cumulative(session, top=60):
        """Per function (file:line), summed over every thread: cumulative and self seconds."""
        cumulative: dict = {}
        own: dict = {}
        root = session.root_frame()
        total = root.time if root else 0.0

        def walk(frame, on_path):
            key = f"{frame.function}  {frame.file_path_short}:{frame.line_no}"
            if key not in on_path:
                cumulative[key] = cumulative.get(key, 0.0) + frame.time
            own[key] = own.get(key, 0.0) + frame.total_self_time
            for child in frame.children:
                walk(child, on_path | {key})

        if root:
            walk(root, frozenset())
        lines = [
            f"total {total:.2f} s sampled (wall time inside profiled calls, all threads)",
            "",
            f"{'cum s':>8} {'cum %':>6} {'self s':>8}  function  file:line",
        ]
        for key, value in sorted(cumulative.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"{value:8.2f} {100 * value / total if total else 0:6.1f} {own.get(key, 0):8.2f}  {key}")
        lines += ["", "by self time:"]
        for key, value in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"{value:8.2f} {100 * value / total if total else 0:6.1f}  {key}")
        return "\n".join(lines) + "\n"

    atexit.register(_dump)

    _submit = _thread.ThreadPoolExecutor.submit

    def submit(self, fn, /, *args, **kwargs):
        if not getattr(self, "_thread_name_prefix", "").startswith("listener"):
            return _submit(self, fn, *args, **kwargs)  # gunicorn's request pool: profiled at the handler
        return _submit(self, _profiled, "lazy", fn, *args, **kwargs)

    _thread.ThreadPoolExecutor.submit = submit

    from slack_bolt.adapter.wsgi import SlackRequestHandler as _Handler

    _call = _Handler.__call__

    def __call__(self, environ, start_response):
        return _profiled("ack", _call, self, environ, start_response)

    _Handler.__call__ = __call__
