"""Run a moto server on 127.0.0.1:PORT until standard input closes.

Test binaries start it with a pipe on stdin, so the emulator dies with the test process
even when that process is killed: no stray servers between runs. Usage: PORT [LOG_FILE].
"""
import os
import sys

from moto.server import ThreadedMotoServer


def main() -> None:
    port = int(sys.argv[1])
    log = sys.argv[2] if len(sys.argv) > 2 else os.devnull
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print("ready", flush=True)
    # The test binary stops reading stdout after "ready": anything moto prints later must
    # not meet a closed pipe (a BrokenPipeError inside a request thread leaves that request
    # unanswered), so both streams go to the log, which a hung test's failure shows.
    target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(target, 1)
    os.dup2(target, 2)
    try:
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
