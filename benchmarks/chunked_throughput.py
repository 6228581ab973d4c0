"""aws-chunked signing against raw SHA-256, both over 64 KiB chunks (issue 7's target: the
signed framing at 90% of the hash's throughput or better, compiled backend).

    python benchmarks/chunked_throughput.py [--megabytes 256] [--rounds 5]

Alternates the two measurements and prints the best of each, in MB/s, and their ratio.
"""

from __future__ import annotations

import argparse
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk-size", type=int, default=65536)
    args = parser.parse_args(argv)

    import fastsig
    from fastsig import Credentials, Signer, _backend

    data = b"q" * (args.megabytes << 20)
    size = args.chunk_size
    signer = Signer(Credentials("AKIDEXAMPLE", "secret"), "us-east-1", "s3")

    def raw():
        view = memoryview(data)
        sha256_hex = _backend.kernels.sha256_hex
        for start in range(0, len(data), size):
            sha256_hex(view[start:start + size])

    def framed():
        for _ in signer.sign_chunked("PUT", "https://b.s3.amazonaws.com/k", data,
                                     chunk_size=size).body:
            pass

    best = {"raw SHA-256": 0.0, "signed aws-chunked": 0.0}
    for _ in range(args.rounds):
        for name, run in (("raw SHA-256", raw), ("signed aws-chunked", framed)):
            start = time.perf_counter()
            run()
            best[name] = max(best[name], len(data) / (time.perf_counter() - start) / 1e6)
    for name, rate in best.items():
        print(f"{name:20s} {rate:8.0f} MB/s")
    print(f"ratio {best['signed aws-chunked'] / best['raw SHA-256']:.1%} "
          f"({fastsig.backend} backend, {size // 1024} KiB chunks)")


if __name__ == "__main__":
    main()
