"""Spark (pyspark) through s3a, with hadoop-aws at the Hadoop version pyspark bundles: a
partitioned Parquet table written, read with a filter, counted, overwritten (s3a's rename:
copy plus delete) and read back as a directory, on a bucket of the local root store and on
one mounted from an S3 upstream (MinIO)."""

import os

import pytest

from matrix import matrix_with_s3  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def spark(matrix_with_s3):  # noqa: F811
    jars = os.environ.get("SPARK_S3A_JARS")
    assert jars, "SPARK_S3A_JARS is not set: scripts/test.sh downloads hadoop-aws and sets it"
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession

    gw = matrix_with_s3.gw
    hadoop = {
        "fs.s3a.endpoint": gw.endpoint, "fs.s3a.endpoint.region": "us-east-1", "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false", "fs.s3a.access.key": gw.access_key,
        "fs.s3a.secret.key": gw.secret_key, "fs.s3a.attempts.maximum": "1", "fs.s3a.retry.limit": "1",
        "fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        # Small parts, so that s3a's own multipart upload is used for the bigger files.
        "fs.s3a.multipart.size": "5M", "fs.s3a.multipart.threshold": "5M",
    }
    b = (SparkSession.builder.master("local[2]").appName("arustio-s3a").config("spark.jars", jars)
         .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.sql.shuffle.partitions", "2"))
    for k, v in hadoop.items():
        b = b.config(f"spark.hadoop.{k}", v)
    session = b.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.parametrize("bucket", ["local", "s3up"])
def test_partitioned_parquet_table(spark, matrix_with_s3, bucket):  # noqa: F811
    from pyspark.sql import functions as F

    base = f"s3a://{bucket}/tables/events"
    df = spark.range(0, 1000).withColumn("part", (F.col("id") % 4).cast("int")).withColumn("v", F.col("id") * 2)
    df.write.mode("overwrite").partitionBy("part").parquet(base)
    table = spark.read.parquet(base)
    assert table.filter(F.col("part") == 1).count() == 250
    assert table.count() == 1000 and table.filter("v > 1000").count() == 499

    # Overwrite: the committer renames (copy + delete) its task output into place.
    small = spark.range(0, 100).withColumn("part", (F.col("id") % 2).cast("int")).withColumn("v", F.col("id"))
    small.write.mode("overwrite").partitionBy("part").parquet(base)
    again = spark.read.parquet(base)
    assert again.count() == 100
    assert sorted(r.part for r in again.select("part").distinct().collect()) == [0, 1]
    small.write.mode("append").partitionBy("part").parquet(base)
    assert spark.read.parquet(base).count() == 200

    # A bigger file, over s3a's 5 MiB multipart threshold.
    big = f"s3a://{bucket}/tables/big"
    spark.range(0, 2_000_000).selectExpr("id", "cast(id as string) as s").coalesce(1).write.mode("overwrite").parquet(big)
    assert spark.read.parquet(big).filter("id % 1000 = 0").count() == 2000

    # spark.read on a directory of plain files, and the Hadoop FileSystem API on it.
    spark.createDataFrame([(1, "a"), (2, "b")], ["k", "s"]).write.mode("overwrite").csv(f"s3a://{bucket}/dir/csv")
    assert spark.read.csv(f"s3a://{bucket}/dir/csv").count() == 2
    jvm = spark._jvm
    path = jvm.org.apache.hadoop.fs.Path(f"s3a://{bucket}/dir")
    fs = path.getFileSystem(spark._jsc.hadoopConfiguration())
    assert [str(s.getPath()).rsplit("/", 1)[-1] for s in fs.listStatus(path)] == ["csv"]
    assert fs.delete(path, True) and not fs.exists(path)

    keys = matrix_with_s3.keys(bucket, "tables/events/")
    assert "tables/events/_SUCCESS" in keys
    assert {k.split("/")[2] for k in keys if "part=" in k} == {"part=0", "part=1"}
    assert not [k for k in keys if "_temporary" in k], "no task output left behind"
    if bucket == "s3up":
        assert sorted(matrix_with_s3.upstream_keys("tables/events/")) == sorted(keys), "the bytes are in the upstream"
