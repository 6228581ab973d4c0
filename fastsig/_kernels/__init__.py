"""The kernels by spec step: each ``<step>.pxi`` is compiled into ``fastsig._speedups``, and
``<step>.py`` beside it is its pure-Python twin, gathered by ``fastsig._speedups_py``."""
