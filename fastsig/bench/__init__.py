"""The side-by-side benchmark behind ``fastsig bench`` and ``benchmarks/``: every contender
as a factory (``contenders``), the hand-written yardstick, and the interleaved runner."""
