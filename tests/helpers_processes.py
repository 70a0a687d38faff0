"""The live child processes of this test process, read from /proc (Linux): what the
worker tests count to show that no worker is left behind."""
import os


def children():
    """The pids of this process's live children (zombies and dead ones left out)."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me and fields[0] not in ("Z", "X"):
                found.add(int(entry))
    return found
