#!/usr/bin/env python3
"""A Python backend notifying through the SQL functions, with psycopg2 (Debian's python3-psycopg2).

Usage: sql_notify.py DSN MODE < calls.json
  calls.json: a JSON list of calls, each {"fn": "notify", "to": [...], "notification": {...}},
  {"fn": "broadcast", "notification": {...}} or {"fn": "publish", "topic": "...", "notification": {...}}.
  MODE: "commit" runs them in one transaction and commits; "rollback" rolls it back;
  "out-of-order" runs each call in its own transaction, all open at once, and commits them
  in reverse order (the first call, with the smallest ids, commits last).
Prints the ids each call returned, as a JSON list of lists. A database error exits 1 with
"SQLSTATE message" on stderr.
"""
import json
import sys

import psycopg2
from psycopg2.extras import Json

CALLS = {
    "notify": ("SELECT inbox_notify(%s, %s)", lambda c: (c["to"], Json(c["notification"]))),
    "broadcast": ("SELECT inbox_broadcast(%s)", lambda c: (Json(c["notification"]),)),
    "publish": ("SELECT inbox_publish(%s, %s)", lambda c: (c["topic"], Json(c["notification"]))),
}


def call(cur, c):
    sql, args = CALLS[c["fn"]]
    cur.execute(sql, args(c))
    return [str(i) for i in cur.fetchone()[0]]


def main():
    dsn, mode = sys.argv[1], sys.argv[2]
    calls = json.load(sys.stdin)
    try:
        if mode == "out-of-order":
            conns = [psycopg2.connect(dsn) for _ in calls]
            ids = [call(conn.cursor(), c) for conn, c in zip(conns, calls)]
            for conn in reversed(conns):
                conn.commit()
                conn.close()
        else:
            conn = psycopg2.connect(dsn)
            ids = [call(conn.cursor(), c) for c in calls]
            conn.commit() if mode == "commit" else conn.rollback()
            conn.close()
    except psycopg2.Error as e:
        sys.stderr.write(f"{e.pgcode} {e.pgerror or e}")
        sys.exit(1)
    print(json.dumps(ids))


main()
