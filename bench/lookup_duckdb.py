"""DuckDB baseline for the LookupEvents benchmark: DuckDB reads cairn's event history Parquet files as they are
(every event cairn stores, in files by date) and answers the same lookups as cairn: the first page of 50 events of
one account, region and category holding one attribute value, newest first. Prints one JSON line per lookup with
p50/p99 in milliseconds; each query runs after warm-up.

Usage: python lookup_duckdb.py <history dir> <lookups.json> <seconds per lookup>
"""
import json
import statistics
import sys
import time

import duckdb

PREDICATES = {
    "EventId": "eventid = ?",
    "EventName": "eventname = ?",
    "ReadOnly": "CAST(readonly AS VARCHAR) = ?",
    "Username": "useridentity.username = ?",
    "ResourceType": "list_contains(list_transform(resources, r -> r.type), ?)",
    "ResourceName": "list_contains(list_transform(resources, r -> r.arn), ?)",
    "EventSource": "eventsource = ?",
    "AccessKeyId": "useridentity.accesskeyid = ?",
}


def main():
    history, lookups_path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    lookups = json.load(open(lookups_path))
    con = duckdb.connect()
    con.execute(f"CREATE VIEW history AS SELECT * FROM read_parquet('{history}/*/*.parquet', hive_partitioning = false)")
    for lk in lookups:
        sql = (f"SELECT eventid, eventname, readonly, useridentity.accesskeyid, epoch_ms(eventtime), eventsource, "
               f"useridentity.username, resources, eventjson FROM history "
               f"WHERE recipientaccountid = ? AND awsregion = ? AND eventcategory = 'Management' AND {PREDICATES[lk['key']]} "
               f"ORDER BY eventtime DESC, seq DESC LIMIT 50")
        args = ["111111111111", lk["region"], lk["value"]]
        for _ in range(2):
            rows = con.execute(sql, args).fetchall()
        lat = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end or len(lat) < 3:
            t0 = time.perf_counter()
            rows = con.execute(sql, args).fetchall()
            lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(json.dumps({"key": lk["key"], "rows": len(rows), "runs": len(lat),
                          "p50_ms": statistics.median(lat), "p99_ms": p99}))


if __name__ == "__main__":
    main()
