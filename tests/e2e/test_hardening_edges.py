"""Edges of the real server (security issue 21, findings 4 and 12): timestamps that are not Slack's, a signing
secret too short to be Slack's, core dumps, and the modes of every file under the data dir whatever the umask."""

from __future__ import annotations

import http.client
import os
import stat
import time
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.kit import SIGNING_SECRET, BotProcess, Workspace, command_body
from tests.kit.metrics import scrape, value
from tests.kit.processes import descendants
from tests.kit.waiting import settled

# What X-Slack-Request-Timestamp carried in the attack: anything but 1-12 ASCII digits. Each is sent as raw bytes
# (the full-width and Devanagari digits as UTF-8, as a client would put them on the wire).
BAD_TIMESTAMPS = [
    "abc",
    "1e9",
    "1.5",
    "１２３",  # full-width digits: int() reads them
    "१२३",  # Devanagari digits: so does it
    "",
    "-1",
    "+1700000000",
    "9" * 5000,  # past int()'s 4300-digit limit: a ValueError
    "9" * 13,
    "1_700_000_000",  # int() reads underscores
    "0x10",
    "1700000000\t",
]
# And signatures that are not "v0=" and 64 hex digits: slack-sdk's compare_digest raised TypeError on the first.
BAD_SIGNATURES = ["v0=" + "é" * 64, "v0=" + "０" * 64, "v1=" + "0" * 64, "v0=" + "0" * 6400]


def post_raw(bot: BotProcess, body: bytes, timestamp: str, signature: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=10)
    try:
        connection.putrequest("POST", "/slack/events")
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("X-Slack-Request-Timestamp", timestamp.encode("utf-8"))
        connection.putheader("X-Slack-Signature", signature.encode("utf-8"))
        connection.endheaders(body)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_a_flood_of_timestamps_or_signatures_not_shaped_as_slacks_is_refused_401_counted_and_logged_once(
    start_bot, slack
):
    bot = start_bot()
    before = len(bot.log())
    body = command_body()
    statuses = []
    for _ in range(25):
        for timestamp in BAD_TIMESTAMPS:
            # signed over the bad timestamp with the right secret, so only the timestamp is wrong
            signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body.decode())
            statuses.append(post_raw(bot, body, timestamp, signature))
        for signature in BAD_SIGNATURES:
            statuses.append(post_raw(bot, body, str(int(time.time())), signature))
    sent = len(statuses)
    assert statuses == [401] * sent, sorted(set(statuses))
    samples = scrape(bot.url + "/metrics")
    assert value(samples, "credbot_slack_requests_total", kind="unverified", status="401") == sent
    assert value(samples, "credbot_slack_requests_total", kind="unverified", status="500") == 0
    Workspace(bot, slack).open_wizard()  # a signed command still works, and was handled after the flood
    written = bot.log()[before:]
    assert "Traceback" not in written and "ERROR" not in written, written[:3000]
    assert written.count("refused a request that is not signed by Slack") <= 1
    assert len(written) < 1_000, written[:3000]


def test_a_signed_request_with_todays_timestamp_is_still_served(bot, slack):
    reply = bot.sender.post(command_body(), "application/x-www-form-urlencoded", timestamp=int(time.time()))
    assert reply.status == 200


# --- a signing secret too short to be Slack's (32 hex characters) refuses start-up


@pytest.mark.parametrize("secret", ["x" * 31, "short-secret-9f8e7d", "secret-" + "9" * 24])
def test_a_signing_secret_shorter_than_32_characters_refuses_start_up(
    tmp_path, slack, paddle_live, paddle_sandbox, secret
):
    bot = BotProcess(tmp_path, slack, paddle_live, paddle_sandbox, SLACK_SIGNING_SECRET=secret)
    with pytest.raises(RuntimeError):
        bot.start(timeout=20)
    assert bot.process.returncode == 2
    log = bot.log()
    problems = [line for line in log.splitlines() if line.startswith("  - ")]
    assert len(problems) == 1 and "SLACK_SIGNING_SECRET" in problems[0] and "32" in problems[0], log
    assert "Traceback" not in log and secret not in log.replace("SLACK_SIGNING_SECRET", ""), log


def test_the_test_kits_signing_secret_is_shaped_like_slacks():
    assert len(SIGNING_SECRET) == 32 and int(SIGNING_SECRET, 16) >= 0


# --- serve makes no core dump: RLIMIT_CORE 0 and not dumpable, in the master and every gunicorn worker

# The kernel tells only the process itself whether it is dumpable (PR_GET_DUMPABLE; /proc/<pid>/status has no
# such field, and as root every /proc file is readable whatever the flag), so the real serve process asks at its
# exit, in the master and in each worker (workers run the atexit handlers they inherit), and writes the answer
# to a file named by its pid.
DUMPABLE_PROBE = (
    "import atexit, ctypes, os, sys\n"
    "def probe():\n"
    "    answer = ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)\n"  # PR_GET_DUMPABLE
    "    with open(os.path.join(os.environ['PROBE_DIR'], str(os.getpid())), 'w') as f: f.write(str(answer))\n"
    "atexit.register(probe)\n"
    "from bot.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def core_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max core file size"):
            return " ".join(line.split()[4:6])  # soft, hard
    raise AssertionError(f"no core limit for {pid}")


def status_field(pid: int, name: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} in /proc/{pid}/status")


@pytest.mark.skipif(not Path("/proc/self/limits").exists(), reason="reads /proc (Linux)")
def test_serve_and_its_workers_make_no_core_dump(tmp_path, slack, paddle_live, paddle_sandbox):
    probes = tmp_path / "probes"
    probes.mkdir()
    bot = BotProcess(tmp_path, slack, paddle_live, paddle_sandbox, CREDBOT_HTTP_WORKERS="2", PROBE_DIR=str(probes))
    bot.command = ("-c", DUMPABLE_PROBE, "serve")
    bot.start()
    try:
        workers = settled(lambda: descendants(bot.process.pid), lambda found: len(found) == 2, timeout=20)
        assert len(workers) == 2, workers
        limits = {pid: core_limit(pid) for pid in [bot.process.pid, *workers]}
        assert set(limits.values()) == {"0 0"}, limits
        umasks = {pid: status_field(pid, "Umask") for pid in [bot.process.pid, *workers]}
        assert set(umasks.values()) == {"0077"}, umasks  # whatever umask it was started with (here 022)
    finally:
        assert bot.stop() == 0
    answers = {int(p.name): p.read_text() for p in probes.iterdir()}
    assert set(answers) == {bot.process.pid, *workers}, answers
    assert set(answers.values()) == {"0"}, answers


# --- every file under the data dir 0600 and every directory 0700, under umask 000, with several workers

UMASK_ZERO = "import os, sys; os.umask(0); from bot.cli import main; sys.exit(main(sys.argv[1:]))"


def modes_under(root: Path) -> dict[str, str]:
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def test_under_umask_000_every_file_under_the_data_dir_is_0600_with_several_workers(
    tmp_path, slack, paddle_live, paddle_sandbox
):
    bot = BotProcess(tmp_path, slack, paddle_live, paddle_sandbox, CREDBOT_HTTP_WORKERS="3")
    bot.command = ("-c", UMASK_ZERO, "serve")
    bot.start()
    try:
        for _ in range(12):  # requests that every worker counts, so each writes its metrics files
            Workspace(bot, slack).open_wizard()
            assert bot.sender.post(command_body(), "application/x-www-form-urlencoded", sign=False).status == 401
        bot.wait_idle()
        data = tmp_path / "data"
        found = modes_under(data)
        metrics_files = [name for name in found if name.startswith("metrics/") and name.endswith(".db")]
        assert len(metrics_files) >= 3, found  # prometheus-client's multiprocess files exist
        assert "credbot.db" in found and "encryption.keys" in found, found
        assert oct(stat.S_IMODE(data.stat().st_mode)) == "0o700"
        wrong = {name: mode for name, mode in found.items() if mode != ("0o700" if (data / name).is_dir() else "0o600")}
        assert wrong == {}, wrong
    finally:
        assert bot.stop() == 0
