#!/usr/bin/env python3
"""Run the README's command blocks, in order, as a reader would: a documented command that stops
working fails the test run (scripts/test.sh calls this after the test suite).

    scripts/readme-run.py [--bin PATH] [--readme README.md]

Every ```sh block runs in bash (`set -euo pipefail`; what one block exports, the next sees) and
every ```python block in python3, from the repository root, each bounded in time. The reader's
`cargo run --release -q -- ARGS` and `idbroker ARGS` run the binary given with --bin (default:
target/debug/idbroker, which the test suite built): the commands are the README's, byte for
byte, not copies of them.

HTML comments just before a block (invisible on the rendered page) say what the runner needs:

    <!-- readme: serves PORT -->    the block's first command starts a server on PORT: it runs in
                                    the background (until the end), the rest once PORT answers
    <!-- readme: first: COMMAND --> run COMMAND (bash) before the block
    <!-- readme: then: COMMAND -->  run COMMAND (bash) after it, whatever its outcome
    <!-- readme: expect TEXT -->    the block's output must contain TEXT (one per comment)
    <!-- readme: skip REASON -->    not run; the reason is printed
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BLOCK_TIMEOUT = 180  # seconds per block (a first `cargo run` may build)


def blocks(text):
    """(language, code, directives, line number) for each fenced block."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w+)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        directives = []
        j = start - 1
        while j >= 0 and lines[j].strip().startswith("<!-- readme:"):
            d = re.match(r"^<!-- readme: (.*?) -->$", lines[j].strip())
            if not d:
                sys.exit(f"README.md:{j + 1}: malformed readme directive")
            directives.insert(0, d.group(1))
            j -= 1
        end = start + 1
        while end < len(lines) and lines[end] != "```":
            end += 1
        yield lang, "\n".join(lines[start + 1:end]) + "\n", directives, start + 1
        i = end + 1


def first_command(code):
    """The first command of a shell block (its continuation lines included) and the rest."""
    lines = code.split("\n")
    n = 0
    while n < len(lines) and lines[n].rstrip().endswith("\\"):
        n += 1
    return "\n".join(lines[:n + 1]) + "\n", "\n".join(lines[n + 1:])


def wait_port(port, proc, bound=120.0):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def port_free(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return False
    except OSError:
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "debug", "idbroker"))
    ap.add_argument("--readme", default="README.md")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.chdir(root)
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        sys.exit(f"readme: {binary} is not an executable (build it first: cargo build)")

    work = tempfile.mkdtemp(prefix="readme-run-")
    shims = os.path.join(work, "bin")
    os.mkdir(shims)
    os.symlink(binary, os.path.join(shims, "idbroker"))
    real_cargo = shutil.which("cargo") or "cargo"
    with open(os.path.join(shims, "cargo"), "w") as f:
        f.write(f"""#!/bin/sh
# The README's `cargo run --release -q -- ARGS`: the binary under test, with ARGS.
if [ "$1" = run ] && [ "$2" = --release ] && [ "$3" = -q ] && [ "$4" = -- ]; then
  shift 4; exec "{binary}" "$@"
fi
exec "{real_cargo}" "$@"
""")
    os.chmod(os.path.join(shims, "cargo"), 0o755)
    state = os.path.join(work, "env.sh")
    open(state, "w").close()
    env = dict(os.environ, PATH=shims + os.pathsep + os.environ.get("PATH", ""))
    logs = open(os.path.join(work, "servers.log"), "w")
    servers, failed, ran = [], [], 0

    def shell(code, background=False):
        # What earlier blocks exported comes in; what this one exports goes out (not for
        # background servers, which keep running).
        script = f"set -euo pipefail\nsource {state}\n{code}\n"
        if not background:
            script += f"export -p > {state}\n"
        if background:
            return subprocess.Popen(["bash", "-c", script], env=env, stdout=logs, stderr=logs,
                                    start_new_session=True)
        return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                              timeout=BLOCK_TIMEOUT)

    try:
        with open(args.readme) as f:
            text = f.read()
        for lang, code, directives, line in blocks(text):
            if lang not in ("sh", "python"):
                continue
            where = f"{args.readme}:{line}"
            skip = [d for d in directives if d.startswith("skip")]
            if skip:
                print(f"readme: {where}: skipped: {skip[0][4:].lstrip(': ')}")
                continue
            expect = [d[len("expect "):] for d in directives if d.startswith("expect ")]
            before = [d[len("first: "):] for d in directives if d.startswith("first: ")]
            serves = [int(d.split()[1]) for d in directives if d.startswith("serves ")]
            after = [d[len("then: "):] for d in directives if d.startswith("then: ")]
            ran += 1
            try:
                for cmd in before:
                    r = shell(cmd)
                    if r.returncode != 0:
                        raise RuntimeError(f"`{cmd}` exited {r.returncode}: {r.stderr[-2000:]}")
                if lang == "python":
                    r = subprocess.run(["python3", "-"], input=code, env=env, capture_output=True,
                                       text=True, timeout=BLOCK_TIMEOUT)
                else:
                    if serves:
                        port = serves[0]
                        if not port_free(port):
                            raise RuntimeError(f"port {port} is in use: the README's server needs it")
                        start, code = first_command(code)
                        proc = shell(start, background=True)
                        servers.append(proc)
                        if not wait_port(port, proc):
                            raise RuntimeError(f"the server of {where} never answered on port {port}")
                    r = shell(code)
                out = r.stdout + r.stderr
                if r.returncode != 0:
                    raise RuntimeError(f"exited {r.returncode}:\n{out[-3000:]}")
                missing = [e for e in expect if e not in out]
                if missing:
                    raise RuntimeError(f"output lacks {missing}:\n{out[-3000:]}")
                print(f"readme: {where}: ok")
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                failed.append(where)
                print(f"readme: {where}: FAILED: {e}")
            for cmd in after:
                shell(cmd)
    finally:
        for p in servers:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        logs.close()
        if failed:
            with open(os.path.join(work, "servers.log")) as f:
                print("readme: the servers' output (last 3,000 characters):\n" + f.read()[-3000:])
        shutil.rmtree(work, ignore_errors=True)
    print(f"readme: {ran} blocks run, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
