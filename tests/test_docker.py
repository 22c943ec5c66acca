"""The container files, checked without a Docker engine (there is none where the tests run).

What can be checked here is: the Dockerfile's instructions (slim base, non-root user, health check on the
health endpoint, the entry command), that what it copies exists and is not excluded by ``.dockerignore``,
that its entry command and health check work when run directly with the same arguments, and that
``docker-compose.yml`` wires the server to a healthy PostgreSQL 15 with a volume.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.test_serve import STARTUP_LIMIT_S, STOP_LIMIT_S, cdr_command, free_port

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "docker-compose.yml"
DOCKERIGNORE = REPO / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined, comments left out."""
    out: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        word, _, rest = (pending + stripped).partition(" ")
        out.append((word.upper(), rest.strip()))
        pending = ""
    return out


def build_args() -> dict[str, str]:
    """The defaults of the ``ARG``s declared before the first ``FROM`` (the ones ``FROM`` lines may use)."""
    found: dict[str, str] = {}
    for word, args in instructions():
        if word == "FROM":
            break
        if word == "ARG":
            name, _, default = args.partition("=")
            found[name] = default
    return found


def base_images() -> list[str]:
    """The image of each ``FROM``, ``${ARG}`` replaced by its default as a plain ``docker build`` does."""
    defaults = build_args()
    return [
        re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], args.split()[0])
        for word, args in instructions()
        if word == "FROM"
    ]


def final_stage() -> list[tuple[str, str]]:
    found = instructions()
    last_from = max(i for i, (word, _) in enumerate(found) if word == "FROM")
    return found[last_from:]


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form instruction (CMD, ENTRYPOINT, HEALTHCHECK ... CMD)."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def entry_command() -> list[str]:
    stage = dict(final_stage())
    return exec_form(stage["ENTRYPOINT"]) + exec_form(stage["CMD"])


def health_command() -> list[str]:
    args = dict(final_stage())["HEALTHCHECK"]
    return exec_form(args[args.index(" CMD ") + len(" CMD ") :])


def test_dockerfile_runs_cdr_serve_on_a_slim_base_as_a_non_root_user() -> None:
    stage = final_stage()
    words = [word for word, _ in stage]
    base = base_images()[-1]
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base), base
    user = dict(stage)["USER"]
    assert user not in ("root", "0")
    assert words.index("USER") > max(
        i for i, w in enumerate(words) if w == "RUN"
    )  # nothing runs as root after
    assert entry_command() == ["cdr", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert "8000" in dict(stage)["EXPOSE"].split()
    assert dict(stage).get("STOPSIGNAL", "SIGTERM") == "SIGTERM"
    assert any("http://127.0.0.1:8000/health" in part for part in health_command())
    assert all(b.endswith("-slim") for b in base_images())


def test_the_base_image_is_a_build_arg_defaulting_to_the_public_image() -> None:
    # without a registry: docker build --build-arg BASE_IMAGE=local/debian-python:bookworm (docs/docker.md)
    froms = [args.split()[0] for word, args in instructions() if word == "FROM"]
    assert froms == ["${BASE_IMAGE}"] * len(froms)
    assert build_args()["BASE_IMAGE"] == base_images()[0]
    assert (REPO / "scripts" / "docker-base-image").stat().st_mode & 0o111


def _ignored(relative: str, patterns: list[str]) -> bool:
    return any(
        fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(relative.split("/", 1)[0], p) for p in patterns
    )


def test_dockerfile_copies_what_exists_and_the_build_context_keeps_it() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = [
        args.split()[:-1] for word, args in instructions() if word == "COPY" and not args.startswith("--from")
    ]
    assert copied
    for sources in copied:
        for source in sources:
            assert (REPO / source).exists(), source
            assert not _ignored(source, patterns), f"{source} is excluded by .dockerignore"
    for local_state in (".venv", ".git", "cdr-data", "tests"):
        assert _ignored(local_state, patterns), local_state
    readme = re.search(r'readme\s*=\s*"([^"]+)"', (REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert readme is not None
    assert any(readme.group(1) in sources for sources in copied)  # pip install . needs the readme


def test_dockerfile_run_steps_use_tools_the_base_image_has() -> None:
    venv_bin = "/opt/cdr/bin/"
    for word, args in instructions():
        if word != "RUN":
            continue
        for step in re.split(r"&&|;", args):
            program = shlex.split(step)[0]
            if program.startswith(venv_bin):
                assert (Path(sys.executable).parent / program[len(venv_bin) :]).exists(), program
            else:
                # python3, not python: Debian's own python3 package has no ``python`` command
                assert program in ("python3", "useradd", "mkdir", "chown"), program
                assert shutil.which(program), program


def test_the_image_command_and_health_check_work_when_run_directly(tmp_path: Path) -> None:
    """ENTRYPOINT + CMD as the image runs them (only the port is swapped for a free one), in a working
    directory like the image's, then the HEALTHCHECK command, then SIGTERM as ``docker stop`` sends it."""
    port = str(free_port())
    command = [part if part != "8000" else port for part in entry_command()]
    assert command[0] == "cdr"
    env = {k: v for k, v in os.environ.items() if k != "CDR_DATABASE_URL"}
    proc = subprocess.Popen(
        [*cdr_command(), *command[1:]],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    probe = [sys.executable if p == "python" else p.replace(":8000/", f":{port}/") for p in health_command()]
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while subprocess.run(probe, capture_output=True).returncode != 0:
            assert proc.poll() is None, proc.communicate()[0].decode()
            assert time.monotonic() < deadline, "the health check never passed"
            time.sleep(0.2)
        assert (tmp_path / "cdr-data" / "cdr.db").is_file()  # the volume's place in the image
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=STOP_LIMIT_S)[0].decode()
    assert proc.returncode == 0, out
    assert f"serving http://0.0.0.0:{port}" in out


# --- docker-compose.yml -------------------------------------------------------------------------------


def read_compose(text: str) -> dict[str, Any]:
    """The block-style YAML subset docker-compose.yml keeps to: nested mappings, ``- item`` lists, plain or
    quoted scalars and JSON-style flow lists; anything else fails the test, so the file stays this simple."""
    lines = [
        (len(raw) - len(raw.lstrip(" ")), raw.strip())
        for raw in text.splitlines()
        if raw.strip() and not raw.strip().startswith("#")
    ]
    value, end = _block(lines, 0, 0)
    assert end == len(lines), f"unparsed from line {lines[end]}"
    assert isinstance(value, dict)
    return value


def _scalar(text: str) -> Any:
    if text.startswith("["):
        return json.loads(text)
    if text[:1] in "\"'":
        assert text[-1] == text[0], text
        return text[1:-1]
    assert not text.startswith(("{", "&", "*", "|", ">")), f"unsupported YAML: {text}"
    return text


def _block(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    if lines[i][1].startswith("- "):
        items: list[Any] = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            items.append(_scalar(lines[i][1][2:].strip()))
            i += 1
        return items, i
    mapping: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent:
        key, sep, rest = lines[i][1].partition(":")
        assert sep and not key.startswith("- "), f"unsupported YAML: {lines[i][1]}"
        i += 1
        if rest.strip():
            mapping[key] = _scalar(rest.strip())
        elif i < len(lines) and lines[i][0] > indent:
            mapping[key], i = _block(lines, i, lines[i][0])
        else:
            mapping[key] = None
    assert i == len(lines) or lines[i][0] < indent, f"bad indentation at {lines[i][1]}"
    return mapping, i


def test_read_compose_reads_the_subset_and_refuses_the_rest() -> None:
    doc = read_compose('a:\n  b: "x"\n  c:\n    - 1\n    - two\n  d: ["CMD", "y"]\n  e:\nf: g\n')
    assert doc == {"a": {"b": "x", "c": ["1", "two"], "d": ["CMD", "y"], "e": None}, "f": "g"}
    with pytest.raises(AssertionError):
        read_compose("a: &anchor x\n")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return read_compose(COMPOSE.read_text(encoding="utf-8"))


def _env(value: str) -> str:
    """``${NAME:-default}`` as compose expands it with NAME unset."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def test_compose_runs_postgres_15_with_a_volume_and_a_health_check(compose: dict[str, Any]) -> None:
    db = compose["services"]["db"]
    assert re.fullmatch(r"postgres:15(\.\d+)?(-\w+)?", db["image"])
    volume, _, target = db["volumes"][0].partition(":")
    assert target == "/var/lib/postgresql/data"
    assert volume in compose["volumes"]
    assert db["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_compose_points_the_server_at_the_healthy_database(compose: dict[str, Any]) -> None:
    from sqlalchemy.engine import make_url

    server, db = compose["services"]["cdr"], compose["services"]["db"]
    assert server["build"] == "."
    assert server["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert "8000:8000" in server["ports"]
    url = make_url(_env(server["environment"]["CDR_DATABASE_URL"]))
    env = {k: _env(v) for k, v in db["environment"].items()}
    assert url.get_backend_name() == "postgresql"
    assert (url.host, url.port) == ("db", 5432)
    assert (url.username, url.password, url.database) == (
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
        env["POSTGRES_DB"],
    )


def test_compose_server_authenticates_callers_from_outside_the_container(compose: dict[str, Any]) -> None:
    # without CDR_AUTH the app serves loopback only, which a published container port never is
    server = compose["services"]["cdr"]
    mode = _env(server["environment"]["CDR_AUTH"])
    assert mode in ("basic", "jwt")
    users = server["environment"]["CDR_AUTH_BASIC_USERS_FILE"]
    assert users == f"/run/secrets/{server['secrets'][0]}"
    assert compose["secrets"][server["secrets"][0]]["file"]
