"""Trino (the server tarball from Maven Central, on a Java 24+ JDK) with its Hive and Iceberg
connectors on the gateway, the file metastore kept on the gateway too: partitioned Parquet
and ORC tables written, read with filters, overwritten, updated, merged and dropped, through
Trino's own S3 file system (HEAD, LIST, ranged GETs, multipart PUTs)."""

import os
import subprocess
import time

import pytest
import requests

from conftest import free_port
from matrix import matrix  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def trino(matrix, tmp_path_factory):  # noqa: F811
    if os.environ.get("TRINO_SKIP"):
        pytest.skip(os.environ["TRINO_SKIP"])
    home, jdk = os.environ.get("TRINO_HOME"), os.environ.get("TRINO_JAVA_HOME")
    assert home and jdk, "TRINO_HOME/TRINO_JAVA_HOME are not set: scripts/test.sh installs Trino"
    gw = matrix.gw
    matrix.s3.create_bucket(Bucket="trino")
    work = tmp_path_factory.mktemp("trino")
    etc, data = work / "etc", work / "data"
    (etc / "catalog").mkdir(parents=True)
    data.mkdir()
    port = free_port()
    (etc / "node.properties").write_text(f"node.environment=test\nnode.id=arustio\nnode.data-dir={data}\n")
    (etc / "jvm.config").write_text("-server\n-Xmx2G\n-XX:+UseG1GC\n-XX:+ExitOnOutOfMemoryError\n"
                                    "-Djdk.attach.allowAttachSelf=true\n")
    (etc / "config.properties").write_text(
        f"coordinator=true\nnode-scheduler.include-coordinator=true\nhttp-server.http.port={port}\n"
        f"discovery.uri=http://127.0.0.1:{port}\nquery.max-memory=1GB\nquery.max-memory-per-node=1GB\n"
        f"catalog.config-dir={etc / 'catalog'}\nplugin.dir={home}/plugin\n")
    s3 = (f"fs.native-s3.enabled=true\ns3.endpoint={gw.endpoint}\ns3.region=us-east-1\ns3.path-style-access=true\n"
          f"s3.aws-access-key={gw.access_key}\ns3.aws-secret-key={gw.secret_key}\ns3.streaming.part-size=5MB\n")
    (etc / "catalog" / "hive.properties").write_text(
        "connector.name=hive\nhive.metastore=file\nhive.metastore.catalog.dir=s3://trino/metastore\n"
        "hive.non-managed-table-writes-enabled=true\n" + s3)
    (etc / "catalog" / "iceberg.properties").write_text(
        "connector.name=iceberg\niceberg.catalog.type=testing_file_metastore\n"
        "hive.metastore.catalog.dir=s3://trino/iceberg_meta\n" + s3)
    (etc / "catalog" / "tpch.properties").write_text("connector.name=tpch\n")
    log = open(work / "trino.log", "wb")
    proc = subprocess.Popen([f"{home}/bin/launcher", "run", "-etc-dir", str(etc), "-data-dir", str(data), "-jvm-dir", jdk],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    try:
        while True:
            assert proc.poll() is None, (work / "trino.log").read_text()[-3000:]
            try:
                # Ready once a query runs: just after start-up it may fail with "nodes is empty".
                if query(url, "SELECT count(*) FROM tpch.tiny.nation") == [[25]]:
                    break
            except (requests.ConnectionError, AssertionError):
                pass
            assert time.time() < deadline, "Trino did not start in 180 s"
            time.sleep(1)
        yield lambda sql, session=None: query(url, sql, session)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        log.close()


def query(url, sql, session=None):
    """Runs one statement through Trino's HTTP protocol; returns the rows."""
    headers = {"X-Trino-User": "arustio"}
    if session:
        headers["X-Trino-Session"] = session
    r = requests.post(f"{url}/v1/statement", data=sql, headers=headers, timeout=30).json()
    rows, deadline = [], time.time() + 300
    while True:
        assert "error" not in r, f"{sql}: {r['error'].get('message')}"
        rows += r.get("data", [])
        if "nextUri" not in r:
            return rows
        assert time.time() < deadline, f"{sql}: still running after 300 s"
        r = requests.get(r["nextUri"], timeout=30).json()


def test_trino_hive_tables(trino, matrix):  # noqa: F811
    trino("CREATE SCHEMA hive.gw")
    trino("CREATE TABLE hive.gw.ev (id bigint, v double, part integer) WITH (external_location = "
          "'s3://trino/data/ev', format = 'PARQUET', partitioned_by = ARRAY['part'])")
    trino("INSERT INTO hive.gw.ev SELECT orderkey, totalprice, CAST(orderkey % 4 AS integer) FROM tpch.tiny.orders")
    counts = trino("SELECT part, count(*) FROM hive.gw.ev GROUP BY part ORDER BY part")
    assert [p for p, _ in counts] == [0, 1, 2, 3] and sum(n for _, n in counts) == 15000
    assert trino("SELECT count(*) FROM hive.gw.ev WHERE part = 1 AND v > 100000") == \
        trino("SELECT count(*) FROM tpch.tiny.orders WHERE orderkey % 4 = 1 AND totalprice > 100000")
    keys = matrix.keys("trino", "data/ev/")
    assert {k.split("/")[2] for k in keys} == {"part=0", "part=1", "part=2", "part=3"}
    # Overwrite one partition: Trino deletes its files and writes new ones.
    trino("INSERT INTO hive.gw.ev SELECT id, v, part FROM hive.gw.ev WHERE part = 2 AND id < 1000",
          session="hive.insert_existing_partitions_behavior=OVERWRITE")
    counts = dict(trino("SELECT part, count(*) FROM hive.gw.ev GROUP BY part"))
    assert counts[2] == trino("SELECT count(*) FROM tpch.tiny.orders WHERE orderkey % 4 = 2 AND orderkey < 1000")[0][0]
    assert counts[0] == trino("SELECT count(*) FROM tpch.tiny.orders WHERE orderkey % 4 = 0")[0][0]
    trino("CREATE TABLE hive.gw.orc WITH (format = 'ORC') AS SELECT * FROM tpch.tiny.lineitem")
    assert trino("SELECT count(*), sum(quantity) FROM hive.gw.orc") == \
        trino("SELECT count(*), sum(quantity) FROM tpch.tiny.lineitem")
    trino("DROP TABLE hive.gw.orc")
    trino("DROP TABLE hive.gw.ev")
    trino("DROP SCHEMA hive.gw")


def test_trino_iceberg_table(trino, matrix):  # noqa: F811
    trino("CREATE SCHEMA iceberg.ice")
    trino("CREATE TABLE iceberg.ice.ev WITH (partitioning = ARRAY['part']) AS "
          "SELECT orderkey AS id, totalprice AS v, CAST(orderkey % 4 AS integer) AS part FROM tpch.tiny.orders")
    trino("DELETE FROM iceberg.ice.ev WHERE part = 3")
    trino("UPDATE iceberg.ice.ev SET v = 0 WHERE id < 100")
    trino("MERGE INTO iceberg.ice.ev t USING (SELECT 1 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE")
    want = trino("SELECT count(*) - 1, count_if(orderkey < 100) - 1 FROM tpch.tiny.orders WHERE orderkey % 4 <> 3")
    assert trino("SELECT count(*), count_if(v = 0) FROM iceberg.ice.ev") == want
    assert trino('SELECT count(*) FROM iceberg.ice."ev$snapshots"')[0][0] >= 4
    trino("ALTER TABLE iceberg.ice.ev EXECUTE optimize")
    assert trino("SELECT count(*) FROM iceberg.ice.ev") == [[want[0][0]]]
    # Large enough for multipart uploads of 5 MB parts.
    trino("CREATE TABLE iceberg.ice.big AS SELECT * FROM tpch.sf1.orders")
    assert trino("SELECT count(*) FROM iceberg.ice.big") == [[1500000]]
    trino("DROP TABLE iceberg.ice.big")
    trino("DROP TABLE iceberg.ice.ev")
    trino("DROP SCHEMA iceberg.ice")
    assert not [k for k in matrix.keys("trino", "iceberg_meta/") if "/ev/" in k or "/big/" in k]
