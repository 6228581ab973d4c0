"""DuckDB: a vectorized SQL function ``presign(key)`` (an Arrow UDF: one call per vector).

>>> import duckdb
>>> from fastsig import Credentials, Signer
>>> from fastsig.engines.duckdb import register
>>> signer = Signer(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
...                 "eu-west-1", "s3")
>>> con = duckdb.connect()
>>> register(con, signer, bucket="my-bucket")
>>> con.execute("SELECT presign('a b.txt')").fetchall()[0][0].split("?")[0]
'https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b.txt'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastsig import arrow
from . import pyarrow_urls

if TYPE_CHECKING:
    from fastsig.signer import Signer

__all__ = ["register"]


def register(connection: Any, signer: "Signer", name: str = "presign", **options: Any) -> None:
    """Registers ``name(VARCHAR) -> VARCHAR`` on a DuckDB connection: the presigned URL of
    each key (or URL), NULL for NULL; ``options`` are ``fastsig.arrow.presign``'s."""
    import pyarrow

    def presign(keys: Any) -> Any:
        return pyarrow_urls(arrow.presign(signer, keys, **options)).cast(pyarrow.string())

    connection.create_function(name, presign, ["VARCHAR"], "VARCHAR", type="arrow",
                               null_handling="special", side_effects=False)
