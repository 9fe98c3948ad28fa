"""The import baseline: DuckDB reads the same gzip trail log files with read_json and unnests Records into a table of
an on-disk database, on as many threads as cairn uses. Prints {"records": n, "seconds": s}.

Usage: import_duckdb.py <archive dir> <database file> <threads>
"""
import json
import sys
import time

import duckdb

archive, database, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect(database)
con.execute(f"SET threads = {threads}")
started = time.time()
con.execute(
    f"""CREATE TABLE events AS
        SELECT unnest(Records, recursive := false) AS event
        FROM read_json('{archive}/**/*.json.gz', format = 'auto', maximum_object_size = 1073741824)"""
)
con.execute("CHECKPOINT")
seconds = time.time() - started
records = con.execute("SELECT count(*) FROM events").fetchone()[0]
print(json.dumps({"records": records, "seconds": round(seconds, 3)}))
