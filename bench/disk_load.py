#!/usr/bin/env python3
"""The 50-agent swarm's disk load without the swarm (bench/README.md, "The 50-agent target and
this machine"): N writers fill fallocated files with 1 MiB O_DIRECT writes at random offsets
while N readers read back random 1 MiB pieces already written, never ahead of the writers, as
agents write what they receive and read back about as much for their peers. Prints the seconds it took and the GiB/s each way; sample
/proc/diskstats beside it to see stalls. Linux only (O_DIRECT).

usage: bench/disk_load.py DIR [--files 50] [--mib 256]
   e.g. bench/disk_load.py /var/tmp/load & /tmp busy loops: for i in 1 2; do timeout 30 sh -c
   'while :; do :; done' & done
"""
import argparse
import mmap
import os
import random
import threading
import time

MIB = 1 << 20


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--mib", type=int, default=256)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    written = [[] for _ in range(a.files)]
    read_bytes = [0] * a.files

    def writer(i):
        buf = mmap.mmap(-1, MIB)  # page-aligned, as O_DIRECT needs
        buf.write(os.urandom(MIB))
        fd = os.open(f"{a.dir}/f{i}", os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
        os.posix_fallocate(fd, 0, a.mib * MIB)
        order = list(range(a.mib))
        random.shuffle(order)
        for k in order:
            os.pwrite(fd, buf, k * MIB)
            written[i].append(k)
        os.close(fd)

    def reader(i):
        buf = mmap.mmap(-1, MIB)
        fd = os.open(f"{a.dir}/f{i}", os.O_RDONLY | os.O_DIRECT)
        while read_bytes[i] < a.mib * MIB:
            if read_bytes[i] >= len(written[i]) * MIB:  # a read per piece written, as uploads
                time.sleep(0.002)
                continue
            read_bytes[i] += os.preadv(fd, [buf], random.choice(written[i]) * MIB)
        os.close(fd)

    # The files exist before the readers open them.
    for i in range(a.files):
        os.close(os.open(f"{a.dir}/f{i}", os.O_CREAT | os.O_WRONLY, 0o644))
    t0 = time.time()
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(a.files)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(a.files)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.time() - t0
    gib = a.files * a.mib / 1024
    print(f"{a.files} x {a.mib} MiB written and read back once: {secs:.1f} s, "
          f"{gib / secs:.2f} GiB/s each way, {2 * gib / secs:.2f} GiB/s in all")
    for i in range(a.files):
        os.remove(f"{a.dir}/f{i}")


if __name__ == "__main__":
    main()
