"""DuckDB baseline for the LookupEvents benchmark: the same events, loaded into Parquet sorted by account, region and
time, answering the same lookups (first page of 50, newest first) as cairn. Prints one JSON line per lookup with
p50/p99 in milliseconds. Loading is not timed; each query runs after warm-up.

Usage: python lookup_duckdb.py <events.jsonl> <work dir> <lookups.json> <seconds per lookup>
"""
import json
import statistics
import sys
import time

import duckdb

GLOBAL = ("iam.amazonaws.com", "sts.amazonaws.com", "cloudfront.amazonaws.com", "route53.amazonaws.com",
          "organizations.amazonaws.com")
COLUMNS = {"EventId": "event_id", "EventName": "event_name", "ReadOnly": "read_only", "Username": "username",
           "ResourceType": "resource_type", "ResourceName": "resource_name", "EventSource": "event_source",
           "AccessKeyId": "access_key_id"}


def main():
    events, work, lookups_path, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    lookups = json.load(open(lookups_path))
    con = duckdb.connect()
    parquet = f"{work}/events.parquet"
    globals_sql = ", ".join(f"'{g}'" for g in GLOBAL)
    con.execute(f"""
        COPY (
          SELECT json->>'$.recipientAccountId' AS account,
                 CASE WHEN json->>'$.eventSource' IN ({globals_sql}) THEN 'us-east-1' ELSE json->>'$.awsRegion' END AS region,
                 CAST(json->>'$.eventTime' AS TIMESTAMP) AS event_time,
                 json->>'$.eventID' AS event_id, json->>'$.eventName' AS event_name,
                 json->>'$.eventSource' AS event_source, json->>'$.readOnly' AS read_only,
                 regexp_extract(json->>'$.userIdentity.arn', '[^/]+$') AS username,
                 json->>'$.userIdentity.accessKeyId' AS access_key_id,
                 json->>'$.resources[0].type' AS resource_type, json->>'$.resources[0].ARN' AS resource_name,
                 CAST(json AS VARCHAR) AS cloudtrail_event
          FROM read_json_objects('{events}', format = 'newline_delimited')
          ORDER BY account, region, event_time
        ) TO '{parquet}' (FORMAT PARQUET, ROW_GROUP_SIZE 100000)
    """)
    for lk in lookups:
        sql = (f"SELECT event_id, event_name, read_only, access_key_id, event_time, event_source, username, "
               f"resource_type, resource_name, cloudtrail_event FROM '{parquet}' "
               f"WHERE account = ? AND region = ? AND {COLUMNS[lk['key']]} = ? "
               f"ORDER BY event_time DESC LIMIT 50")
        args = ["111111111111", lk["region"], lk["value"]]
        for _ in range(3):
            rows = con.execute(sql, args).fetchall()
        lat = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            rows = con.execute(sql, args).fetchall()
            lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(json.dumps({"key": lk["key"], "rows": len(rows), "runs": len(lat),
                          "p50_ms": statistics.median(lat), "p99_ms": p99}))


if __name__ == "__main__":
    main()
