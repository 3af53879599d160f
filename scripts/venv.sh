# Sourced by scripts/run and scripts/test: make .venv and install the project into it when needed.
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Credbot needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# Install exactly what the lock files pin, every package checked against its hashes: first pip and the build
# backend (requirements-build.lock: pip, setuptools, wheel and what they need), then the lock asked for
# (scripts/test sets CREDBOT_LOCK=requirements-test.lock), then the project itself, built by that backend without
# build isolation (which would fetch setuptools and wheel unpinned and run them) and with no index at all: nothing
# is fetched that is not pinned with its hash, and a build requirement the venv lacks is an error
# (--check-build-dependencies). .venv/.credbot-installed records which lock was installed and the digests of it,
# of the build lock and of pyproject.toml. Nothing is installed when that lock is unchanged and
# pins every package of the one asked for at the same version: the test lock holds the runtime lock whole, so
# scripts/run after scripts/test installs nothing, and neither does switching back (contents, not file times,
# decide: a fresh checkout or `git switch` does not reinstall an unchanged lock).
lock=${CREDBOT_LOCK:-requirements.lock}
if ! "$PYTHON" scripts/lockfile.py installed-covers .venv/.credbot-installed "$lock"; then
  pip_install() { .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@"; }
  pip_install --require-hashes --no-deps -r requirements-build.lock
  pip_install --require-hashes --no-deps -r "$lock"
  pip_install --no-deps --no-index --no-build-isolation --check-build-dependencies -e .
  "$PYTHON" scripts/lockfile.py stamp "$lock" > .venv/.credbot-installed
fi
