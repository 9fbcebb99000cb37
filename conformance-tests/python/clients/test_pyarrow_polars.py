"""pyarrow (S3FileSystem, pyarrow.dataset) and polars (scan_parquet, write_parquet) through
the gateway: a partitioned dataset written and read, and random access to row groups."""

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import polars as pl
import pytest
from pyarrow import fs as pafs

from matrix import matrix  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def arrow_fs(matrix):  # noqa: F811
    gw = matrix.gw
    return pafs.S3FileSystem(access_key=gw.access_key, secret_key=gw.secret_key, region="us-east-1",
                             endpoint_override=gw.endpoint.split("://", 1)[1], scheme="http",
                             force_virtual_addressing=False)


def test_pyarrow_partitioned_dataset(arrow_fs, matrix):  # noqa: F811
    tbl = pa.table({"id": list(range(1000)), "part": [i % 4 for i in range(1000)], "v": [float(i) for i in range(1000)]})
    base = f"{matrix.bucket}/arrow/events"
    ds.write_dataset(tbl, base, filesystem=arrow_fs, format="parquet", partitioning=["part"],
                     partitioning_flavor="hive", existing_data_behavior="delete_matching")
    d = ds.dataset(base, filesystem=arrow_fs, format="parquet", partitioning="hive")
    assert d.count_rows() == 1000
    assert d.to_table(filter=pc.field("part") == 1).num_rows == 250
    assert len(d.files) == 4 and all("/part=" in f for f in d.files)
    # Rewriting replaces the partitions written.
    ds.write_dataset(tbl.slice(0, 8), base, filesystem=arrow_fs, format="parquet", partitioning=["part"],
                     partitioning_flavor="hive", existing_data_behavior="delete_matching")
    assert ds.dataset(base, filesystem=arrow_fs, format="parquet", partitioning="hive").count_rows() == 8


def test_pyarrow_random_access_to_row_groups(arrow_fs, matrix):  # noqa: F811
    n = 200_000
    tbl = pa.table({"id": pa.array(range(n), pa.int64()), "s": pa.array([f"row {i}" for i in range(n)])})
    path = f"{matrix.bucket}/arrow/groups.parquet"
    with arrow_fs.open_output_stream(path) as out:
        pq.write_table(tbl, out, row_group_size=20_000)
    with arrow_fs.open_input_file(path) as f:
        pf = pq.ParquetFile(f)
        assert pf.metadata.num_row_groups == 10
        for i in [7, 2, 9, 0]:
            group = pf.read_row_group(i, columns=["id"])
            assert group.column("id")[0].as_py() == i * 20_000 and group.num_rows == 20_000
        f.seek(-4, 2)
        assert f.read() == b"PAR1"
    got = pq.read_table(path, filesystem=arrow_fs, filters=[("id", ">=", 199_990)])
    assert got.num_rows == 10
    infos = arrow_fs.get_file_info(pafs.FileSelector(f"{matrix.bucket}/arrow", recursive=True))
    assert f"{matrix.bucket}/arrow/groups.parquet" in [i.path for i in infos]


def test_polars_scan_and_write(matrix):  # noqa: F811
    gw = matrix.gw
    so = {"aws_endpoint_url": gw.endpoint, "aws_allow_http": "true", "aws_access_key_id": gw.access_key,
          "aws_secret_access_key": gw.secret_key, "aws_region": "us-east-1"}
    b = matrix.bucket
    df = pl.DataFrame({"id": list(range(1000)), "part": [i % 4 for i in range(1000)]})
    df.write_parquet(f"s3://{b}/polars/parted/", storage_options=so, partition_by="part")
    lf = pl.scan_parquet(f"s3://{b}/polars/parted/**/*.parquet", storage_options=so, hive_partitioning=True)
    assert lf.filter(pl.col("part") == 2).select(pl.len()).collect().item() == 250
    one = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    one.write_parquet(f"s3://{b}/polars/one.parquet", storage_options=so)
    assert pl.read_parquet(f"s3://{b}/polars/one.parquet", storage_options=so).equals(one)
    # Big enough to go out as a multipart upload.
    big = pl.DataFrame({"x": range(3_000_000)})
    big.write_parquet(f"s3://{b}/polars/big.parquet", storage_options=so, compression="uncompressed")
    lf = pl.scan_parquet(f"s3://{b}/polars/big.parquet", storage_options=so)
    assert lf.filter(pl.col("x") > 2_999_000).select(pl.len()).collect().item() == 999
