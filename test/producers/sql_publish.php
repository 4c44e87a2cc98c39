<?php
// A PHP backend notifying through the SQL functions, with php-pgsql (Debian's php-pgsql).
// Usage: php sql_publish.php DSN < call.json, where call.json is {"topic": "..."|null, "notification": {...}}:
// inbox_publish when a topic is given, else inbox_broadcast, in a transaction that commits.
// Prints the ids returned, as JSON; a database error exits 1 with its message on stderr.
$db = pg_connect($argv[1]);
if ($db === false) {
    fwrite(STDERR, "cannot connect\n");
    exit(1);
}
$call = json_decode(stream_get_contents(STDIN), true);
pg_query($db, 'BEGIN');
$result = $call['topic'] === null
    ? @pg_query_params($db, 'SELECT inbox_broadcast($1::jsonb) AS ids', [json_encode($call['notification'])])
    : @pg_query_params($db, 'SELECT inbox_publish($1, $2::jsonb) AS ids', [$call['topic'], json_encode($call['notification'])]);
if ($result === false) {
    fwrite(STDERR, pg_last_error($db));
    exit(1);
}
$ids = pg_fetch_result($result, 0, 'ids');
pg_query($db, 'COMMIT');
// A Postgres array literal of bigints: {1,2,3}
echo json_encode($ids === '{}' ? [] : explode(',', trim($ids, '{}'))), "\n";
