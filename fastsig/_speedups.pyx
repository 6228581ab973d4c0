# cython: language_level=3
"""The signing kernels, compiled: the twin of ``_speedups_py`` (the pure-Python kernels) with the
same names and byte-identical results.

Each spec step is one ``fastsig/_kernels/<step>.pxi``, included below into this one module (so
Cython inlines across them), beside its pure twin ``<step>.py``. This file holds what they share:
the cimports, the CPython declarations and the module's constants.

Every call runs in C for the inputs real traffic has. When the C scanner meets anything
unusual (an invalid escape, a folded header, a non-str argument, a lone surrogate...), that one
call is handed to the pure-Python twin, which raises the same exception or returns the same
result. So each error message exists once, and the two backends cannot drift on edge cases.
"""

cimport cython
from cpython.datetime cimport (
    PyDateTime_CheckExact, PyDateTime_DATE_GET_HOUR, PyDateTime_DATE_GET_MINUTE,
    PyDateTime_DATE_GET_SECOND, PyDateTime_GET_DAY, PyDateTime_GET_MONTH, PyDateTime_GET_YEAR,
    datetime_tzinfo, import_datetime,
)
from cpython.dict cimport PyDict_Copy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.buffer cimport PyBUF_SIMPLE, PyObject_GetBuffer, PyBuffer_Release
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_GET_SIZE, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from libc.stdint cimport int8_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memchr, memcmp, memcpy, strlen

import datetime as _datetime
import time as _time

from . import _speedups_py as _py

cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member
    bint PyDict_Next(object d, Py_ssize_t *pos, PyObject **key, PyObject **value)
    PyObject *PyDict_GetItemWithError(object d, object key) except? NULL
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    void *PyUnicode_DATA(object o)
    bint PyUnicode_IS_ASCII(object o)
    object PyType_GenericAlloc(type t, Py_ssize_t n)
    void PyObject_GC_UnTrack(void *op)

ALGORITHM = _py.ALGORITHM
EMPTY_SHA256 = _py.EMPTY_SHA256
UNSIGNED_PAYLOAD = _py.UNSIGNED_PAYLOAD

fs_sha256_autoselect()

# Release the GIL for updates at least this long: below it, the handoff costs more than it saves.
DEF NOGIL_THRESHOLD = 4096

# The kernels by spec step, in dependency order (one module: Cython inlines across them).
include "_kernels/buffer.pxi"
include "_kernels/hashing.pxi"
include "_kernels/timestamp.pxi"
include "_kernels/uri.pxi"
include "_kernels/query.pxi"
include "_kernels/request.pxi"
include "_kernels/headers.pxi"
include "_kernels/signing.pxi"
include "_kernels/keys.pxi"
include "_kernels/verify.pxi"
include "_kernels/verify_headers.pxi"
include "_kernels/asgi.pxi"
include "_kernels/arrow.pxi"
include "_kernels/wsgi.pxi"
