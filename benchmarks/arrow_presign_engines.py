"""One engine's run for arrow_presign.py's ``engines`` part, in a process of its own:
``python arrow_presign_engines.py dask|spark SOURCE.parquet FOLDER``; prints a JSON line
{"start": s, "run": s, "cpu": s, "overhead": what it is}: ``cpu`` is the CPU time of this
process and every process under it (the JVM and its Python workers, Dask's workers) during the
run, from psutil, as wall time on a shared machine swings with the others' load."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time

from fastsig import Credentials, Signer

WHEN = "20261204T120000Z"


def tree_cpu():
    """User + system CPU seconds of this process and its live descendants."""
    import psutil

    total = 0.0
    me = psutil.Process()
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:  # gone meanwhile
            continue
        total += times.user + times.system
    return total


def main():
    engine, source, folder = sys.argv[1:4]
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    signer = Signer(Credentials(os.environ["AWS_ACCESS_KEY_ID"],
                                os.environ["AWS_SECRET_ACCESS_KEY"]), "eu-west-1", "s3")
    out = os.path.join(folder, f"fastsig-bench-{engine}-urls")
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    if engine == "dask":
        import dask.dataframe as dd
        import distributed

        from fastsig.engines.dask import presign_column

        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)
        client = distributed.Client(cluster)
        ready, ready_cpu = time.perf_counter(), tree_cpu()
        # A partition per row group, as the CLI's workers take them: by default one file is one
        # partition, and one worker of two would do it all.
        frame = dd.read_parquet(source, dtype_backend="pyarrow", split_row_groups=True)
        presign_column(frame, signer, "key", bucket="my-bucket",
                       timestamp=WHEN).to_parquet(out)
        done, done_cpu = time.perf_counter(), tree_cpu()
        client.close()
        cluster.close()
        overhead = ("task scheduling, pandas partitions (Arrow-backed) assigned a column, "
                    "each turned back into an Arrow table for a Parquet writer of its own")
    else:
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        os.environ["PYSPARK_PYTHON"] = os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
        from pyspark.sql import SparkSession

        from fastsig.engines.spark import presign_column

        spark = (SparkSession.builder.master("local[2]").appName("fastsig-bench")
                 .config("spark.driver.host", "127.0.0.1")
                 .config("spark.driver.bindAddress", "127.0.0.1")
                 .config("spark.ui.enabled", "false")
                 # Splits of a few row groups: by default a file under 128 MB is one task, and
                 # one core of two would do it all.
                 .config("spark.sql.files.maxPartitionBytes", "16m").getOrCreate())
        ready, ready_cpu = time.perf_counter(), tree_cpu()
        presign_column(spark.read.parquet(source), signer, "key", bucket="my-bucket",
                       timestamp=WHEN).write.parquet(out)
        done, done_cpu = time.perf_counter(), tree_cpu()
        spark.stop()
        overhead = ("mapInArrow's round trip: JVM rows turned into Arrow batches, the "
                    "Arrow IPC stream to the Python worker and back, the URLs turned into "
                    "JVM rows again")
    shutil.rmtree(out, ignore_errors=True)
    print(json.dumps({"start": ready - started, "run": done - ready, "cpu": done_cpu - ready_cpu,
                      "overhead": overhead}))


if __name__ == "__main__":
    main()
