"""`python child.py RSS_FILE ARGS...` is `python -m conformance.cli ARGS...`, and at exit writes the process's peak
resident set size in kB to RSS_FILE: how the hostile tests measure the suite's memory.

The peak is VmHWM of /proc/self/status (this process's own memory, since its exec). Not `ru_maxrss`: on Linux it
carries over the parent's resident size at fork time, so a big test worker would make every child look big."""

import resource
import runpy
import sys


def peak_kb() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    out = sys.argv[1]
    sys.argv = ["conformance", *sys.argv[2:]]
    try:
        runpy.run_module("conformance.cli", run_name="__main__", alter_sys=True)
    finally:
        with open(out, "w") as handle:
            handle.write(str(peak_kb()))


if __name__ == "__main__":
    main()
