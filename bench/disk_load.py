#!/usr/bin/env python3
"""The 50-agent swarm's disk load with no swarm (bench/README.md, "The 50-agent target and this
machine"): N writers fill fallocated files with 1 MiB O_DIRECT writes at random offsets while N
readers read each written piece back once, in random order and never ahead of the writers, as
agents write what they receive and read back about as much for their peers. Prints the seconds
and GiB/s; sample /proc/diskstats beside it to see stalls. Linux, a file system with O_DIRECT.

usage: bench/disk_load.py DIR [--files 50] [--mib 256]
  with the cores busy too:  for i in 1 2; do timeout 40 sh -c 'while :; do :; done' & done
"""
import argparse
import mmap
import os
import random
import sys
import threading
import time

MIB = 1 << 20


def main():
    ap = argparse.ArgumentParser(description="the swarm's disk load with no swarm")
    ap.add_argument("dir")
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--mib", type=int, default=256)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    unread = [[] for _ in range(a.files)]  # written, not yet read back
    lock = threading.Lock()
    errors = []

    def writer(i):
        try:
            buf = mmap.mmap(-1, MIB)  # page-aligned, as O_DIRECT needs
            buf.write(os.urandom(MIB))
            fd = os.open(f"{a.dir}/f{i}", os.O_WRONLY | os.O_DIRECT)
            os.posix_fallocate(fd, 0, a.mib * MIB)
            order = list(range(a.mib))
            random.shuffle(order)
            for k in order:
                if errors:
                    break
                os.pwrite(fd, buf, k * MIB)
                with lock:
                    unread[i].append(k)
            os.close(fd)
        except OSError as e:
            errors.append(f"writer {i}: {e}")

    def reader(i):
        try:
            buf = mmap.mmap(-1, MIB)
            fd = os.open(f"{a.dir}/f{i}", os.O_RDONLY | os.O_DIRECT)
            left = a.mib
            while left and not errors:
                with lock:
                    k = unread[i].pop(random.randrange(len(unread[i]))) if unread[i] else None
                if k is None:
                    time.sleep(0.002)  # the writer is behind
                    continue
                os.preadv(fd, [buf], k * MIB)
                left -= 1
            os.close(fd)
        except OSError as e:
            errors.append(f"reader {i}: {e}")

    for i in range(a.files):  # the files exist before either side opens them
        os.close(os.open(f"{a.dir}/f{i}", os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o644))
    t0 = time.time()
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(a.files)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(a.files)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - t0
    for i in range(a.files):
        os.remove(f"{a.dir}/f{i}")
    if errors:
        sys.exit("disk_load.py: " + errors[0])
    gib = a.files * a.mib / 1024
    print(f"{a.files} x {a.mib} MiB written and each piece read back once: {secs:.1f} s, "
          f"{gib / secs:.2f} GiB/s each way, {2 * gib / secs:.2f} GiB/s in all")


if __name__ == "__main__":
    main()
