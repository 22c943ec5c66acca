"""The container files: checked without a Docker engine, and built and run where one is available.

Without an engine (CI has none): the Dockerfile's instructions (slim base as a build ARG, non-root user,
health check on the health endpoint, the entry command), that what it copies exists and is not excluded by
``.dockerignore``, that its entry command and health check work when run directly with the same arguments,
and that ``docker-compose.yml`` wires the server to a healthy PostgreSQL 15 with a volume.

With an engine (``docker info`` answers): the image is built (base from ``CDR_DOCKER_BASE_IMAGE``, else the
Dockerfile's default; see docs/docker.md for a registry-free one) and run, on its SQLite volume and on a
scratch PostgreSQL database, through template upload, EHR, composition and AQL; otherwise those tests skip.
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.storage.conftest import scratch_postgres_url
from tests.test_serve import BASE, NB_OPT, NORMAL, STARTUP_LIMIT_S, STOP_LIMIT_S, cdr_command, free_port

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
    """Docker's rule: the last pattern matching the path or one of its parent directories decides, and a
    pattern starting with ``!`` keeps what it matches; ``**/`` also matches no directory at all."""
    parts = relative.split("/")
    paths = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        glob = pattern.removeprefix("!")
        globs = {glob, glob.removeprefix("**/")}
        if any(fnmatch.fnmatch(path, g) for path in paths for g in globs):
            ignored = not pattern.startswith("!")
    return ignored


def test_ignored_follows_dockers_last_match_rule() -> None:
    patterns = ["*", "!cdr", "**/__pycache__"]
    assert _ignored(".venv/bin/python", patterns)
    assert not _ignored("cdr/terminology/data/x.json", patterns)
    assert _ignored("cdr/__pycache__/cli.cpython-311.pyc", patterns)
    assert _ignored("__pycache__", patterns)
    assert not _ignored("tests/x.py", ["tests/y.py"])


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
            kept = [
                p
                for p in (REPO / source).rglob("*")
                if p.is_file()
                and "__pycache__" not in p.parts
                and not (p.suffix == ".so" or p.name == "native_manifest.json")  # scripts/compile's, not sent
            ]
            for path in kept:  # the package data too, e.g. cdr/terminology/data
                relative = path.relative_to(REPO).as_posix()
                assert not _ignored(relative, patterns), f"{relative} is excluded by .dockerignore"
    for local_state in (".venv", ".git", "cdr-data", "tests", ".env", "cdr-users.json", "cdr/__pycache__"):
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
            words = [w for w in shlex.split(step.replace("(", " ")) if not re.fullmatch(r"\w+=\S*", w)]
            program = words[0]  # past a subshell's "(" and VAR=value prefixes
            if program.startswith(venv_bin):
                assert (Path(sys.executable).parent / program[len(venv_bin) :]).exists(), program
            else:
                # python3, not python: Debian's own python3 package has no ``python`` command
                allowed = ("python3", "useradd", "mkdir", "chown", "command", "apt-get", "rm")
                assert program in allowed, program
                assert program == "command" or shutil.which(program), program  # command: a shell builtin


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
    assert re.fullmatch(r"postgres:15(\.\d+)?(-\w+)?", _env(db["image"]))
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


# --- the image, built and run where a Docker engine answers ----------------------------------------------

BASE_IMAGE_ENV = "CDR_DOCKER_BASE_IMAGE"
BUILD_LIMIT_S = 1800  # ceilings for a cold build and a first health check on a loaded machine, not figures
HEALTHY_LIMIT_S = 120


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if check and done.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def no_engine_reason() -> str | None:
    """Why the image cannot be built here, or None when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "no docker command"
    try:
        info = docker("info", "--format", "{{.ServerVersion}}", timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "docker info did not answer"
    if info.returncode != 0:
        lines = info.stderr.strip().splitlines()
        return f"no Docker engine ({lines[-1] if lines else 'docker info failed'})"
    return None


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    reason = no_engine_reason()
    if reason:
        pytest.skip(f"{reason}: the image is built and run only where a Docker engine runs")
    base = os.environ.get(BASE_IMAGE_ENV) or build_args()["BASE_IMAGE"]
    local = docker("image", "inspect", base, check=False).returncode == 0
    if not local and docker("pull", base, timeout=600, check=False).returncode != 0:
        pytest.skip(
            f"base image {base} is not here and cannot be pulled: make one with "
            f"scripts/docker-base-image and set {BASE_IMAGE_ENV} (docs/docker.md)"
        )
    tag = f"cdr-test:{uuid.uuid4().hex[:12]}"
    docker("build", "--build-arg", f"BASE_IMAGE={base}", "--tag", tag, str(REPO), timeout=BUILD_LIMIT_S)
    try:
        yield tag
    finally:
        docker("rmi", "--force", tag, check=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def image_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: the image's own SQLite database in its volume; else a scratch PostgreSQL database's URL."""
    if request.param == "sqlite":
        yield None
        return
    with scratch_postgres_url() as url:
        yield url


def call(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request to 127.0.0.1:port; ``body`` is bytes as they are, anything else as JSON."""
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=data, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def wait_until(ready: Any, container: str, what: str, limit: float) -> None:
    """Poll ``ready()`` until it is true; fail with the container's log if it exits or ``limit`` passes."""
    deadline = time.monotonic() + limit
    while not ready():
        state = docker("inspect", "--format", "{{.State.Status}}", container).stdout.strip()
        if state != "running" or time.monotonic() > deadline:
            logs = docker("logs", container, check=False)
            pytest.fail(f"{what} never happened; the container is {state}:\n{logs.stdout}{logs.stderr}")
        time.sleep(0.5)


def answers_health(port: int) -> bool:
    try:
        return call(port, "GET", "/health")[0] == 200
    except OSError:
        return False


def test_the_image_commits_and_queries_a_composition_and_stops_cleanly(
    image: str, image_database: str | None
) -> None:
    """The host's network (so that the host's PostgreSQL is reachable and callers are loopback, which
    the server accepts without authentication), a free port instead of 8000, everything else as shipped."""
    port = free_port()
    env = ["--env", f"CDR_DATABASE_URL={image_database}"] if image_database else []
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    container = docker("run", "--detach", "--network", "host", *env, image, *serve).stdout.strip()
    try:
        wait_until(lambda: answers_health(port), container, "/health answering 200", STARTUP_LIMIT_S)
        status, _, body = call(
            port,
            "POST",
            f"{BASE}/definition/template/adl1.4",
            NB_OPT.read_bytes(),
            {"Content-Type": "application/xml"},
        )
        assert status == 201, body
        status, headers, body = call(port, "POST", f"{BASE}/ehr", headers={"Prefer": "return=minimal"})
        assert status == 201, body
        ehr_id = headers["etag"].strip('"')
        status, headers, body = call(
            port,
            "POST",
            f"{BASE}/ehr/{ehr_id}/composition",
            NORMAL.read_bytes(),
            {"Content-Type": "application/json", "Prefer": "return=minimal"},
        )
        assert status == 201, body
        version_uid = headers["etag"].strip('"')
        query = {
            "q": "SELECT c/uid/value, c/archetype_details/template_id/value "
            "FROM EHR e CONTAINS COMPOSITION c WHERE e/ehr_id/value = $ehr_id",
            "query_parameters": {"ehr_id": ehr_id},
        }
        status, _, body = call(port, "POST", f"{BASE}/query/aql", query, {"Content-Type": "application/json"})
        assert status == 200, body
        template_id = json.loads(NORMAL.read_bytes())["archetype_details"]["template_id"]["value"]
        assert json.loads(body)["rows"] == [[version_uid, template_id]]

        probe = [p.replace(":8000/", f":{port}/") for p in health_command()]
        assert docker("exec", container, *probe, check=False).returncode == 0  # the HEALTHCHECK command
        assert docker("exec", container, "id", "-u").stdout.strip() not in ("", "0")
        if image_database is None:  # the SQLite database lives in the image's volume
            volume = exec_form(dict(final_stage())["VOLUME"])[0]
            assert docker("exec", container, "test", "-s", f"{volume}/cdr.db", check=False).returncode == 0
    finally:
        docker("stop", "--time", str(STOP_LIMIT_S), container, check=False)
        exit_code = docker("inspect", "--format", "{{.State.ExitCode}}", container).stdout.strip()
        logs = docker("logs", container, check=False)
        docker("rm", "--force", "--volumes", container, check=False)
    output = logs.stdout + logs.stderr
    assert exit_code == "0", output
    assert "stopped (SIGTERM)" in output
    assert "Traceback" not in output


def test_the_image_as_shipped_turns_healthy_and_serves_outside_callers_only_with_authentication(
    image: str,
) -> None:
    """Entry command, port and health check exactly as the image has them, on Docker's own network: the
    engine's health check passes, and a caller through the published port is not loopback, so the API
    refuses it while authentication is off (why docker-compose.yml sets CDR_AUTH)."""
    container = docker("run", "--detach", "--publish", "127.0.0.1::8000", image).stdout.strip()
    try:

        def healthy() -> bool:
            health = docker("inspect", "--format", "{{.State.Health.Status}}", container).stdout.strip()
            assert health != "unhealthy", docker("inspect", container).stdout
            return health == "healthy"

        wait_until(healthy, container, "the HEALTHCHECK passing", HEALTHY_LIMIT_S)
        port = int(docker("port", container, "8000/tcp").stdout.splitlines()[0].rpartition(":")[2])
        assert call(port, "GET", "/health")[0] == 200
        status, _, body = call(port, "POST", f"{BASE}/ehr")
        assert status == 401, body
        assert b"loopback" in body
    finally:
        docker("rm", "--force", "--volumes", container, check=False)
