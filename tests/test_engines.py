"""The engines, for real, on local processes only: each presigns a 1M-row table through its
fastsig.engines adapter, and a sample of the URLs verifies with fastsig.Verifier.

The signer is built on the driver with credentials of its own and reaches the workers pickled
without them: each worker resolves the credentials of its environment (set here before the
workers start), so a verifying URL shows the worker used its own chain. Each engine starts
once per session, from a folder outside the checkout, so its workers import the installed
package. Engine start-up and run times are printed (-s) for the report.
"""

from __future__ import annotations

import os
import random
import sys
import time

import pytest

from fastsig import Credentials, Signer, Verifier

COMPARES_BACKENDS = True  # the workers choose their backend themselves: run once
ROWS = 1_000_000
WHEN = "20261204T120000Z"
CLOCK = 1796385600  # WHEN as epoch seconds: the verifier's clock
WORKER_KEY = Credentials("AKIDWORKERCHAIN", "worker-secret-from-the-environment")
DRIVER_KEY = Credentials("AKIDDRIVERONLY", "driver-secret-never-shipped")
BUCKET = "my-bucket"
ODD = ["50% off.txt", "a+b.txt", "tag#1", "what?", "café ☃", "😀", "two  spaces"]


def keys(count=ROWS):
    return [f"{ODD[i // 1000 % len(ODD)]}{i}" if i % 1000 == 500 else f"photos/img {i:07d}.jpg"
            for i in range(count)]


@pytest.fixture(scope="module")
def table():
    import pyarrow

    return pyarrow.table({"key": keys(), "size": list(range(ROWS))})


@pytest.fixture(scope="module", autouse=True)
def worker_environment(tmp_path_factory):
    """Workers' own credential chain (their environment), and a folder outside the checkout."""
    saved = {name: os.environ.get(name) for name in (
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED", "SPARK_LOCAL_IP",
        "RAY_USAGE_STATS_ENABLED", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    os.environ.update(AWS_ACCESS_KEY_ID=WORKER_KEY.access_key_id,
                      AWS_SECRET_ACCESS_KEY=WORKER_KEY.secret_access_key,
                      AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                      AWS_EC2_METADATA_DISABLED="true", SPARK_LOCAL_IP="127.0.0.1",
                      RAY_USAGE_STATS_ENABLED="0")
    os.environ.pop("AWS_SESSION_TOKEN", None)
    cwd = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("engine-workers"))
    yield
    os.chdir(cwd)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def driver_signer():
    return Signer(DRIVER_KEY, "eu-west-1", "s3")


def check(key_list, urls, credentials=WORKER_KEY, sample=200):
    """Every row has its URL, for its own key; a sample verifies (as signed by ``credentials``)
    and equals presign_keys' URL."""
    assert len(urls) == len(key_list)
    picks = random.Random(27).sample(range(len(key_list)), sample) + [500, 1500, 2500]
    reference = Signer(credentials, "eu-west-1", "s3").presign_keys(
        BUCKET, [key_list[i] for i in picks], timestamp=WHEN)
    verifier = Verifier({credentials.access_key_id: credentials}.get, clock=lambda: CLOCK)
    for i, expected in zip(picks, reference):
        assert urls[i] == expected, key_list[i]
        assert verifier.verify("GET", urls[i]).access_key_id == credentials.access_key_id


def timed(what, started):
    print(f"\n[engine timing] {what}: {time.perf_counter() - started:.1f} s")


def test_polars_in_process(table):
    import polars

    from fastsig.engines.polars import presign_expr

    frame = polars.from_arrow(table)
    started = time.perf_counter()
    out = frame.with_columns(presign_expr(driver_signer(), "key", bucket=BUCKET,
                                          timestamp=WHEN).alias("url"))
    timed("polars 1M rows", started)
    check(frame["key"].to_list(), out["url"].to_list(), DRIVER_KEY)


def test_duckdb_sql_function(table):
    import duckdb

    from fastsig.engines.duckdb import register

    con = duckdb.connect()
    register(con, driver_signer(), bucket=BUCKET, timestamp=WHEN)
    con.register("listing", table)
    started = time.perf_counter()
    result = con.execute("SELECT key, presign(key) AS url FROM listing").to_arrow_table()
    timed("duckdb 1M rows", started)
    check(result.column("key").to_pylist(), result.column("url").to_pylist(), DRIVER_KEY)
    assert con.execute("SELECT presign(NULL)").fetchall() == [(None,)]


def test_pandas_arrow_series(table):
    import pandas

    from fastsig.engines.pandas import presign_series

    frame = table.to_pandas(types_mapper=pandas.ArrowDtype)
    started = time.perf_counter()
    urls = presign_series(driver_signer(), frame["key"], bucket=BUCKET, timestamp=WHEN)
    timed("pandas 1M rows", started)
    assert urls.index.equals(frame.index)
    check(frame["key"].tolist(), urls.tolist(), DRIVER_KEY)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")  # in the test extra: never skipped there
    started = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    client = distributed.Client(cluster)
    timed("dask LocalCluster start (2 worker processes)", started)
    yield client
    client.close()
    cluster.close()


def test_dask_two_worker_processes(table, dask_client):
    import dask.dataframe as dd

    from fastsig.engines.dask import presign_column

    frame = dd.from_pandas(table.to_pandas(), npartitions=8)
    started = time.perf_counter()
    out = presign_column(frame, driver_signer(), "key", bucket=BUCKET,
                         timestamp=WHEN).compute()
    timed("dask 1M rows on 2 workers", started)
    pids = dask_client.run(os.getpid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    # Signed on the workers with their own credentials: the driver's never left it.
    check(out["key"].tolist(), out["url"].tolist(), WORKER_KEY)


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    started = time.perf_counter()
    # Executors run this interpreter (not whatever python3 the PATH finds first).
    os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2]").appName("fastsig-test")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.executorEnv.AWS_ACCESS_KEY_ID", WORKER_KEY.access_key_id)
               .config("spark.executorEnv.AWS_SECRET_ACCESS_KEY", WORKER_KEY.secret_access_key)
               .getOrCreate())
    timed("spark local[2] start", started)
    yield session
    session.stop()


def test_spark_local_map_in_arrow(table, spark, tmp_path):
    import pyarrow.parquet as parquet

    from fastsig.engines.spark import presign_column

    source = tmp_path / "listing.parquet"
    parquet.write_table(table, source, row_group_size=125_000)
    frame = spark.read.parquet(str(source))
    started = time.perf_counter()
    out = presign_column(frame, driver_signer(), "key", bucket=BUCKET, timestamp=WHEN)
    out.write.parquet(str(tmp_path / "urls"))
    timed("spark local[2] 1M rows, Parquet to Parquet", started)
    result = parquet.read_table(tmp_path / "urls").sort_by("size")
    check(result.column("key").to_pylist(), result.column("url").to_pylist(), WORKER_KEY)


@pytest.fixture(scope="module")
def ray_data():
    ray = pytest.importorskip("ray")
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             runtime_env={"env_vars": {"AWS_ACCESS_KEY_ID": WORKER_KEY.access_key_id,
                                       "AWS_SECRET_ACCESS_KEY": WORKER_KEY.secret_access_key}},
             log_to_driver=False)
    timed("ray start (2 CPUs)", started)
    yield ray
    ray.shutdown()


def test_ray_data_map_batches(table, ray_data):
    from fastsig.engines.ray import presign_column

    dataset = ray_data.data.from_arrow(table)
    started = time.perf_counter()
    out = presign_column(dataset, driver_signer(), "key", bucket=BUCKET,
                         timestamp=WHEN).to_arrow_refs()
    result = ray_data.get(out)
    timed("ray data 1M rows", started)
    import pyarrow

    result = pyarrow.concat_tables(result).sort_by("size")
    check(result.column("key").to_pylist(), result.column("url").to_pylist(), WORKER_KEY)
