"""Query part of the Lake benchmark: typical investigation queries over the same events, answered by cairn (offline
`cairn query` over its local Lake store, timed by cairn itself: opening the store, planning and running) and by DuckDB
(reading the same Parquet files of that store). Each statement runs RUNS times per engine; the median counts. Prints
one table and the geometric mean ratio.

usage: lake_queries.py <cairn binary> <store dir> <runs> <threads>
"""
import json
import math
import statistics
import subprocess
import sys
import time

import duckdb

# (name, cairn's Lake SQL over `events`, DuckDB's SQL over the view `events`; None: the same text).
QUERIES = [
    ("top event names",
     "SELECT eventname, count(*) AS n FROM events GROUP BY eventname ORDER BY n DESC LIMIT 10", None),
    ("failed console logins",
     "SELECT useridentity.sessioncontext.sessionissuer.arn AS role, sourceipaddress, count(*) AS n FROM events "
     "WHERE eventname = 'ConsoleLogin' AND element_at(responseelements, 'ConsoleLogin') = 'Failure' "
     "GROUP BY 1, 2 ORDER BY n DESC, 2 LIMIT 10",
     "SELECT useridentity.sessioncontext.sessionissuer.arn AS role, sourceipaddress, count(*) AS n FROM events "
     "WHERE eventname = 'ConsoleLogin' AND responseelements['ConsoleLogin'] = 'Failure' "
     "GROUP BY 1, 2 ORDER BY n DESC, 2 LIMIT 10"),
    ("one access key's activity",
     "SELECT eventtime, eventname, sourceipaddress FROM events WHERE useridentity.accesskeyid = 'ASIAEXAMPLE000012345' "
     "ORDER BY eventtime, eventname", None),
    ("calls by source IP",
     "SELECT sourceipaddress, count(*) AS n FROM events GROUP BY sourceipaddress ORDER BY n DESC, sourceipaddress LIMIT 10",
     None),
    ("errors by service",
     "SELECT eventsource, errorcode, count(*) AS n FROM events WHERE errorcode IS NOT NULL "
     "GROUP BY eventsource, errorcode ORDER BY n DESC, eventsource", None),
    ("requestparameters map lookup",
     "SELECT element_at(requestparameters, 'resourceId') AS resource, count(*) AS n FROM events "
     "WHERE eventname = 'RunInstances' GROUP BY 1 ORDER BY n DESC, 1 LIMIT 10",
     "SELECT requestparameters['resourceId'] AS resource, count(*) AS n FROM events "
     "WHERE eventname = 'RunInstances' GROUP BY 1 ORDER BY n DESC, 1 LIMIT 10"),
    ("UNNEST over resources",
     "SELECT r.arn, count(*) AS n FROM events CROSS JOIN UNNEST(resources) AS t(r) GROUP BY r.arn "
     "ORDER BY n DESC, r.arn LIMIT 10",
     "SELECT t.r.arn, count(*) AS n FROM events CROSS JOIN UNNEST(resources) AS t(r) GROUP BY t.r.arn "
     "ORDER BY n DESC, t.r.arn LIMIT 10"),
    ("join: activity of failed sign-in IPs",
     "SELECT a.eventname, count(*) AS n FROM events a JOIN (SELECT DISTINCT sourceipaddress FROM events "
     "WHERE eventname = 'ConsoleLogin' AND errormessage IS NOT NULL) f ON a.sourceipaddress = f.sourceipaddress "
     "GROUP BY a.eventname ORDER BY n DESC, a.eventname", None),
    ("window: each role's latest call",
     "SELECT role, eventtime, eventname FROM (SELECT useridentity.sessioncontext.sessionissuer.arn AS role, eventtime, "
     "eventname, row_number() OVER (PARTITION BY useridentity.sessioncontext.sessionissuer.arn "
     "ORDER BY eventtime DESC, eventid) AS k FROM events) WHERE k = 1 ORDER BY role", None),
    ("calls and errors per day",
     "SELECT date_trunc('day', eventtime) AS day, count(*) AS calls, count(errorcode) AS errors FROM events "
     "GROUP BY 1 ORDER BY 1", None),
    ("one day's top calls",
     "SELECT eventname, count(*) AS n FROM events WHERE eventtime >= '2026-01-05 00:00:00' "
     "AND eventtime < '2026-01-06 00:00:00' GROUP BY eventname ORDER BY n DESC, eventname",
     "SELECT eventname, count(*) AS n FROM events WHERE eventtime >= TIMESTAMP '2026-01-05 00:00:00' "
     "AND eventtime < TIMESTAMP '2026-01-06 00:00:00' GROUP BY eventname ORDER BY n DESC, eventname"),
    ("identities per region",
     "SELECT awsregion, count(DISTINCT useridentity.principalid) AS identities FROM events GROUP BY awsregion "
     "ORDER BY awsregion", None),
    ("one role's write calls",
     "SELECT eventsource, eventname, count(*) AS n FROM events WHERE useridentity.arn LIKE '%assumed-role/deployer-3/%' "
     "AND readonly = false GROUP BY 1, 2 ORDER BY n DESC, 1, 2", None),
]


def cairn(binary, store, sql, runs):
    times, rows = [], None
    for _ in range(runs):
        out = subprocess.run([binary, "query", "--store-dir", store, "--timing", "--output", "json", "--max-rows",
                              "1000000", sql], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"cairn failed on {sql}: {out.stderr}")
        line = [l for l in out.stderr.splitlines() if l.endswith(" ms") and " rows in " in l][-1]
        times.append(float(line.split(" rows in ")[1].split()[0]))
        rows = len(json.loads(out.stdout)["Rows"])
    return statistics.median(times), rows


def duck(con, sql, runs):
    times, rows = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = con.execute(sql).fetchall()
        times.append((time.perf_counter() - start) * 1000)
        rows = len(result)
    return statistics.median(times), rows


def main():
    binary, store, runs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{store}/events/*/*.parquet', "
                "hive_partitioning = false)")
    events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    print(f"{events} events; median of {runs} runs each; cairn and DuckDB on {threads} threads")
    print(f"{'query':40} {'cairn ms':>10} {'duckdb ms':>10} {'ratio':>7} {'rows':>6}")
    ratios = []
    for name, lake_sql, duck_sql in QUERIES:
        c_ms, c_rows = cairn(binary, store, lake_sql, runs)
        d_ms, d_rows = duck(con, duck_sql or lake_sql, runs)
        if c_rows != d_rows:
            sys.exit(f"{name}: cairn answered {c_rows} rows, DuckDB {d_rows}")
        ratio = c_ms / d_ms
        ratios.append(ratio)
        print(f"{name:40} {c_ms:10.1f} {d_ms:10.1f} {ratio:7.2f} {c_rows:6}")
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"geometric mean of cairn/DuckDB time: {geo:.2f} (goal: at most 0.7); "
          f"slowest ratio {max(ratios):.2f} (goal: no query over 1.5)")


if __name__ == "__main__":
    main()
