"""SQL part of the event history benchmark: the same statements over the same events, answered by cairn (its query
API on DataFusion, timed by the server's own ExecutionTimeInMillis) and by DuckDB (reading cairn's history Parquet
files directly, restricted to the same account). Prints one JSON line per statement.

usage: query_sql.py cairn <cairn binary> <endpoint> <access key id> <secret> <runs>
       query_sql.py duckdb <history dir> <runs>
"""
import datetime
import json
import statistics
import subprocess
import sys
import time

ACCOUNT = "111111111111"


def statements():
    # The fill spreads events over the 80 days before it ran: a day in the middle holds about 1/80 of them.
    day = datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=40)
    nxt = day + datetime.timedelta(days=1)
    return {
        "count by name": "SELECT eventname, count(*) AS n FROM history GROUP BY eventname ORDER BY n DESC",
        "one day, top users": (
            f"SELECT useridentity.username AS username, count(*) AS n FROM history "
            f"WHERE eventtime >= TIMESTAMP '{day} 00:00:00' AND eventtime < TIMESTAMP '{nxt} 00:00:00' "
            f"GROUP BY 1 ORDER BY n DESC, username LIMIT 10"),
        "RunInstances by region": (
            "SELECT awsregion, count(*) AS n FROM history WHERE eventname = 'RunInstances' AND readonly = false "
            "GROUP BY awsregion ORDER BY awsregion"),
        "one day, full records": (
            f"SELECT eventid, eventjson FROM history WHERE eventtime >= TIMESTAMP '{day} 12:00:00' "
            f"AND eventtime < TIMESTAMP '{day} 12:05:00' ORDER BY eventtime DESC, eventid LIMIT 100"),
    }


def summary(name, times, rows):
    return json.dumps({"name": name, "median_ms": statistics.median(times), "min_ms": min(times), "rows": rows})


def cairn(binary, endpoint, akid, secret, runs):
    for name, sql in statements().items():
        times, rows = [], None
        for i in range(runs + 1):
            out = subprocess.run(
                [binary, "query", "--endpoint", endpoint, "--access-key-id", akid, "--secret-access-key", secret,
                 "--output", "json", "--max-rows", "10000", sql],
                check=True, capture_output=True, text=True)
            answer = json.loads(out.stdout)
            if i > 0:  # the first run warms the caches
                times.append(answer["ExecutionTimeInMillis"])
            rows = len(answer["Rows"])
        print(summary(name, times, rows), flush=True)


def duckdb_runs(history, runs):
    import duckdb
    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW history AS SELECT * EXCLUDE (seq) FROM read_parquet('{history}/*/*.parquet', "
        f"hive_partitioning = false) WHERE recipientaccountid = '{ACCOUNT}'")
    for name, sql in statements().items():
        times, rows = [], None
        for i in range(runs + 1):
            t0 = time.perf_counter()
            result = con.execute(sql).fetchall()
            if i > 0:
                times.append((time.perf_counter() - t0) * 1000)
            rows = len(result)
        print(summary(name, times, rows), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "cairn":
        cairn(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    else:
        duckdb_runs(sys.argv[2], int(sys.argv[3]))
