# Sourced by scripts/run and scripts/test: make .venv and install the project into it when needed.
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Credbot needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# Install exactly what the lock file pins, every package checked against its hashes, then the project itself
# (scripts/test sets CREDBOT_LOCK=requirements-test.lock). .venv/.credbot-installed records which lock was
# installed and the digests of it and of pyproject.toml. Nothing is installed when that lock is unchanged and
# pins every package of the one asked for at the same version: the test lock holds the runtime lock whole, so
# scripts/run after scripts/test installs nothing, and neither does switching back (contents, not file times,
# decide: a fresh checkout or `git switch` does not reinstall an unchanged lock).
lock=${CREDBOT_LOCK:-requirements.lock}
if ! "$PYTHON" scripts/lockfile.py installed-covers .venv/.credbot-installed "$lock"; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23.1"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  "$PYTHON" scripts/lockfile.py stamp "$lock" > .venv/.credbot-installed
fi
