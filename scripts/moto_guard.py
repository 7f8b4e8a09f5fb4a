"""Run a moto server on 127.0.0.1:PORT until standard input closes.

Test binaries start it with a pipe on stdin, so the emulator dies with the test process
even when that process is killed: no stray servers between runs.
"""
import sys

from moto.server import ThreadedMotoServer


def main() -> None:
    port = int(sys.argv[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
