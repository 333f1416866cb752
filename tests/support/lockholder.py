"""A separate process that holds a lock file with fcntl.flock, driven over stdin.

Commands, one per line: ``shared``, ``exclusive`` (block until held, answer
``held <mode>``), ``release`` (answer ``released``), ``quit``.
"""

import fcntl
import sys


def main(path):
    f = open(path, "a")
    for line in sys.stdin:
        command = line.strip()
        if command in ("shared", "exclusive"):
            fcntl.flock(f, fcntl.LOCK_SH if command == "shared" else fcntl.LOCK_EX)
            print("held", command, flush=True)
        elif command == "release":
            fcntl.flock(f, fcntl.LOCK_UN)
            print("released", flush=True)
        elif command == "quit":
            break


if __name__ == "__main__":
    main(sys.argv[1])
