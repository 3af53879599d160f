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
# (scripts/test sets CREDBOT_LOCK=requirements-test.lock). Reinstall only when the lock changed since.
lock=${CREDBOT_LOCK:-requirements.lock}
stamp=.venv/.credbot-installed-$lock
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=23.1"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  rm -f .venv/.credbot-installed-*
  touch "$stamp"
fi
