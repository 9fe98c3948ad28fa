//! The filter pattern language from tables: (pattern, event, match, extracted values) rows with the examples of AWS's
//! documentation and cases around them, patterns AWS refuses, the values metric filters read, and the CIS metric
//! filters (../shared/reference/cis-metric-filters.tsv) over every real CloudTrail record of the reference folder,
//! checked against a direct reading of what each filter is meant to catch.

use cairn_logs::{Error, FilterPattern, PatternKind};
use serde_json::Value;

const E400: &str = "[ERROR 400] BAD REQUEST";
const E401: &str = "[ERROR 401] UNAUTHORIZED REQUEST";
const E419: &str = "[ERROR 419] MISSING ARGUMENTS";
const E420: &str = "[ERROR 420] INVALID ARGUMENTS";
const E500: &str = "[ERROR 500] INTERNAL SERVER ERROR";
const INFO: &str = "[INFO] REQUEST FAILED";
const WARN: &str = "[WARN] UNAUTHORIZED REQUEST";
const OK200: &str = "[SUCCESS 200] AUTHORIZED REQUEST";
const W1: &str = "ERROR WARN message";
const W2: &str = "ERROR message";
const W3: &str = "WARN message";

/// AWS's JSON example event (A) and compound example event (B).
const A: &str = r#"{"eventType":"UpdateTrail","sourceIPAddress":"111.111.111.111","arrayKey":["value","another value"],"objectList":[{"name":"a","id":1},{"name":"b","id":2}],"SomeObject":null,"ThisFlag":true,"cluster.name":"c"}"#;
const B: &str = r#"{"user":{"id":1,"email":"John.Stiles@example.com"},"users":[{"id":2,"email":"John.Doe@example.com"},{"id":3,"email":"Jane.Doe@example.com"}],"actions":["GET","PUT","DELETE"],"coordinates":[[0,1,2],[4,5,6],[7,8,9]]}"#;
const N: &str = r#"{"latency":50,"requestType":"GET","bandwidth":80,"refreshRate":60,"responseTime":5,"errorCode":400,"code":"400","numbers":[1000,0.001],"exp":"1e3","flag":false,"neg":-2.5,"empty":"","nested":{"deep":{"er":"x-y"}}}"#;

/// Apache access log lines.
const S: &str = r#"127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
const S2: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
const AP1: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534"#;
const AP2: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324"#;
const AP3: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355"#;
const L1: &str = "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200";
const L2: &str = "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310";
const L3: &str = "WARNING 09/25/2014 12:00:02 Invalid user request";
const L4: &str = "ERROR 09/25/2014 12:00:02 Failed to process request";
const LAMBDA: &str = "2015-07-08T01:42:25.679Z 8bd492bcaede Decoded payload: Hello World";
const ID: &str = r#"127.0.0.1 user-identifier frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif" 200 2326"#;

type Row = (&'static str, &'static str, bool, &'static [(&'static str, &'static str)]);

const SPLIT: &[(&str, &str)] = &[
    ("$ip", "127.0.0.1"),
    ("$user", "Prod"),
    ("$username", "frank"),
    ("$timestamp", "10/Oct/2000:13:25:15 -0700"),
    ("$request", "GET /index.html HTTP/1.0"),
    ("$status_code", "404"),
    ("$bytes", "1534"),
];

const ROWS: &[Row] = &[
    // Match everything.
    ("", E400, true, &[]),
    ("   ", E400, true, &[]),
    ("\"\"", E400, true, &[]),
    ("\" \"", "", true, &[]),
    ("\" \"", E400, true, &[]),
    // Terms: substring, case-sensitive, all of them.
    ("ERROR", E400, true, &[]),
    ("ERROR", E401, true, &[]),
    ("ERROR", E419, true, &[]),
    ("ERROR", E420, true, &[]),
    ("ERROR", E500, true, &[]),
    ("ERROR", INFO, false, &[]),
    ("error", E400, false, &[]),
    ("ERROR", "Exiting with ERRORCODE: -1", true, &[]),
    ("ERROR ARGUMENTS", E419, true, &[]),
    ("ERROR ARGUMENTS", E420, true, &[]),
    ("ERROR ARGUMENTS", E400, false, &[]),
    ("ERROR ARGUMENTS", E401, false, &[]),
    ("ARGUMENTS ERROR", E420, true, &[]),
    ("ERROR Exception", "[ERROR] Caught IllegalArgumentException", true, &[]),
    ("ERROR Exception", "[ERROR] Unhandled Exception", true, &[]),
    ("Failed to process the request", "[WARN] Failed to process the request", true, &[]),
    ("Failed to process the request", "[ERROR] Unable to continue: Failed to process the request", true, &[]),
    ("Failed to process the request", "the request was processed", false, &[]),
    ("ERROR", W1, true, &[]),
    ("ERROR", W2, true, &[]),
    ("ERROR", W3, false, &[]),
    ("ERROR WARN", W1, true, &[]),
    ("ERROR WARN", W2, false, &[]),
    ("ERROR WARN", W3, false, &[]),
    // `?` terms: any one of them; ignored beside other terms.
    ("?ERROR ?ARGUMENTS", E400, true, &[]),
    ("?ERROR ?ARGUMENTS", E401, true, &[]),
    ("?ERROR ?ARGUMENTS", E419, true, &[]),
    ("?ERROR ?ARGUMENTS", "[INFO] INVALID ARGUMENTS PROVIDED", true, &[]),
    ("?ERROR ?ARGUMENTS", INFO, false, &[]),
    ("?ERROR ?WARN", W1, true, &[]),
    ("?ERROR ?WARN", W2, true, &[]),
    ("?ERROR ?WARN", W3, true, &[]),
    ("?ERROR ?WARN", "INFO message", false, &[]),
    ("?ERROR ?ARGUMENTS REQUEST", INFO, true, &[]),
    ("?ERROR ?ARGUMENTS REQUEST", WARN, true, &[]),
    ("?ERROR ?ARGUMENTS REQUEST", "[ERROR] 400 BAD REQUEST", true, &[]),
    ("?ERROR ?ARGUMENTS REQUEST", E419, false, &[]),
    // Phrases and exclusions.
    ("\"INTERNAL SERVER ERROR\"", E500, true, &[]),
    ("\"INTERNAL SERVER ERROR\"", "INTERNAL ERROR SERVER", false, &[]),
    ("\"INTERNAL  SERVER\"", E500, false, &[]),
    ("\"Term1\" \"Term2\"", "Term2 then Term1", true, &[]),
    ("\"ORDER-ITEM-1\"", "sold ORDER-ITEM-1 today", true, &[]),
    ("\"say \\\"hi\\\"\"", "they say \"hi\" here", true, &[]),
    ("ERROR -ARGUMENTS", E400, true, &[]),
    ("ERROR -ARGUMENTS", E401, true, &[]),
    ("ERROR -ARGUMENTS", E419, false, &[]),
    ("ERROR -ARGUMENTS", E420, false, &[]),
    ("\"ERROR\" - \"Exiting\"", "Exiting with ERRORCODE: -1", false, &[]),
    ("\"ERROR\" - \"Exiting\"", "[ERROR] A fatal exception has occurred", true, &[]),
    ("ERROR -WARN", W1, false, &[]),
    ("ERROR -WARN", W2, true, &[]),
    ("ERROR -WARN", W3, false, &[]),
    ("-ERROR", W3, true, &[]),
    ("-ERROR", W2, false, &[]),
    ("\"Total amount\" -\"level=DEBUG\"", "level=INFO Total amount: 3", true, &[]),
    ("\"Total amount\" -\"level=DEBUG\"", "level=DEBUG Total amount: 3", false, &[]),
    ("日本", "ログ 日本語", true, &[]),
    // Regular expressions as terms.
    ("%AUTHORIZED%", E401, true, &[]),
    ("%AUTHORIZED%", OK200, true, &[]),
    ("%AUTHORIZED%", E400, false, &[]),
    ("%^\\[ERROR 4\\d\\d\\]%", E419, true, &[]),
    ("%^\\[ERROR 4\\d\\d\\]%", E500, false, &[]),
    ("%[Ee]rror|[Ff]ail%", "Failure here", true, &[]),
    ("%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "from 10.0.0.1", true, &[]),
    ("%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%", "from 10.0.1", false, &[]),
    ("%\\x28%", "f(x)", true, &[]),
    ("ERROR %4\\d\\d%", E419, true, &[]),
    ("ERROR %4\\d\\d%", E500, false, &[]),
    ("ERROR -%^\\[ERROR 5%", E500, false, &[]),
    // Space-delimited: fields, conditions, extraction.
    ("[ip, user, username, timestamp, request, status_code, bytes]", S, true, SPLIT),
    ("[ip, user, username, timestamp, request =*.html*, status_code = 4*, bytes]", S, true, SPLIT),
    ("[ip=%127\\.0\\.0\\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]", S, true, SPLIT),
    ("[ip=%127\\.0\\.0\\.[2-9]%, user, username, timestamp, request, status_code, bytes]", S, false, &[]),
    (
        "[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]",
        S,
        true,
        SPLIT,
    ),
    ("[ip, user, username, timestamp, request, status_code = 200 || status_code = 410, bytes]", S, false, &[]),
    ("[ip, user, username, timestamp, request, status_code, bytes > 1000]", S, true, SPLIT),
    ("[ip, user, username, timestamp, request, status_code, bytes > 2000]", S, false, &[]),
    ("[ip, user, username, timestamp, request, status_code, bytes >= 1534]", S, true, SPLIT),
    ("[ip, user, username, timestamp, request, status_code, bytes < 1534]", S, false, &[]),
    ("[ip, user, username, timestamp, request, status_code, bytes <= 1534]", S, true, SPLIT),
    ("[ip, user, username, timestamp, request, status_code != 404, bytes]", S, false, &[]),
    ("[ip, user, username, timestamp, request, status_code != 2*, bytes]", S, true, SPLIT),
    ("[ip, user, username, timestamp, request = \"*html*\", status_code = 4* && status_code != 403, bytes]", S, true, SPLIT),
    ("[ip, user, username, timestamp, request, status_code = 4* && status_code != 404, bytes]", S, false, &[]),
    ("[ip != 10.0.0.1, user, username, timestamp, request, status_code, bytes]", S, true, SPLIT),
    ("[ip = 10.0.0.1, user, username, timestamp, request, status_code, bytes]", S, false, &[]),
    ("[ip, user = Prod, username, timestamp, request, status_code, bytes]", S, true, SPLIT),
    ("[ip, user = prod, username, timestamp, request, status_code, bytes]", S, false, &[]),
    ("[ip, user, username, timestamp = *2000*, request, status_code, bytes]", S, true, SPLIT),
    (
        "[..., status_code, bytes]",
        S,
        true,
        &[
            ("$1", "127.0.0.1"),
            ("$2", "Prod"),
            ("$3", "frank"),
            ("$4", "10/Oct/2000:13:25:15 -0700"),
            ("$5", "GET /index.html HTTP/1.0"),
            ("$status_code", "404"),
            ("$bytes", "1534"),
        ],
    ),
    (
        "[..., request=*.html*, status_code=4*,]",
        S2,
        true,
        &[
            ("$1", "127.0.0.1"),
            ("$2", "-"),
            ("$3", "frank"),
            ("$4", "10/Oct/2000:13:25:15 -0700"),
            ("$request", "GET /index.html HTTP/1.0"),
            ("$status_code", "404"),
            ("$7", "1534"),
        ],
    ),
    (
        "[ip, user, ...]",
        S2,
        true,
        &[
            ("$ip", "127.0.0.1"),
            ("$user", "-"),
            ("$3", "frank"),
            ("$4", "10/Oct/2000:13:25:15 -0700"),
            ("$5", "GET /index.html HTTP/1.0"),
            ("$6", "404"),
            ("$7", "1534"),
        ],
    ),
    (
        "[ip, user, ..., status_code, bytes]",
        AP1,
        true,
        &[
            ("$ip", "127.0.0.1"),
            ("$user", "-"),
            ("$3", "frank"),
            ("$4", "10/Oct/2000:13:25:15 -0700"),
            ("$5", "GET /apache_pb.gif HTTP/1.0"),
            ("$status_code", "200"),
            ("$bytes", "1534"),
        ],
    ),
    ("[ip, user, username, timestamp, request, status_code = 200, bytes]", AP1, true, &[]),
    ("[ip, user, username, timestamp, request, status_code = 200, bytes]", AP2, false, &[]),
    ("[ip, user, username, timestamp, request, status_code = 200, bytes]", AP3, true, &[]),
    ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", AP1, false, &[]),
    ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", AP2, false, &[]),
    ("[ip, user, username, timestamp, request, status_code = 403 || status_code = 404, bytes]", S2, true, &[]),
    ("[ip, user, username, timestamp, request, status_code = 5*, bytes > 5000]", AP2, true, &[]),
    ("[ip, user, username, timestamp, request, status_code = 5*, bytes > 5000]", AP3, false, &[]),
    ("[ip, id, user, timestamp, request, status_code=404, size]", "127.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 404 2326", true, &[]),
    ("[ip, id, user, timestamp, request, status_code=404, size]", "127.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb2.gif HTTP/1.0\" 200 2326", false, &[]),
    // The last field takes the rest; too few fields never match.
    ("[w1=ERROR, w2]", L4, true, &[("$w1", "ERROR"), ("$w2", "09/25/2014 12:00:02 Failed to process request")]),
    ("[w1=ERROR, w2]", L3, false, &[]),
    ("[w1=ERROR || w1=WARNING, w2]", L3, true, &[]),
    ("[w1=ERROR || w1=WARNING, w2]", L4, true, &[]),
    ("[w1=ERROR || w1=WARNING, w2]", L1, false, &[]),
    ("[w1!=ERROR && w1!=WARNING, w2]", L1, true, &[]),
    ("[w1!=ERROR && w1!=WARNING, w2]", L2, true, &[]),
    ("[w1!=ERROR && w1!=WARNING, w2]", L4, false, &[]),
    ("[w1=ERROR || w1=%WARN%, w2]", L3, true, &[]),
    ("[w1=ERROR || w1=%WARN%, w2]", L1, false, &[]),
    ("[w1=ERROR, w2]", W1, true, &[("$w1", "ERROR"), ("$w2", "WARN message")]),
    ("[w1=ERROR, w2]", W3, false, &[]),
    ("[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", L1, true, &[]),
    ("[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]", L2, false, &[]),
    ("[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]", L2, true, &[]),
    ("[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]", L1, false, &[]),
    ("[a, b, c, d]", "only three fields", false, &[]),
    ("[a, ..., d, e, f]", "one two three", false, &[]),
    ("[a, ..., d, e]", "one two three", true, &[("$a", "one"), ("$d", "two"), ("$e", "three")]),
    (
        "[timestamp=*Z, request_id=\"*-*\", event]",
        "2015-07-08T01:42:25.679Z 8bd4-92bc Decoded payload: Hello World",
        true,
        &[("$timestamp", "2015-07-08T01:42:25.679Z"), ("$request_id", "8bd4-92bc"), ("$event", "Decoded payload: Hello World")],
    ),
    ("[timestamp=*Z, request_id=\"*-*\", event]", LAMBDA, false, &[]),
    ("[timestamp, request_id, event]", LAMBDA, true, &[("$timestamp", "2015-07-08T01:42:25.679Z"), ("$request_id", "8bd492bcaede"), ("$event", "Decoded payload: Hello World")]),
    ("[ip, user_identifier, user, timestamp, request, status_code = 200, response_size]", ID, true, &[]),
    ("[ip, user_identifier, user, timestamp, request, status_code = 2*, response_size]", ID, true, &[]),
    ("[ip, user_identifier, user, timestamp, request, status_code = 200 || status_code = 400, response_size]", ID, true, &[]),
    ("[ip, user_identifier, user, timestamp, request, status_code >= 200 && status_code <= 204, response_size]", ID, true, &[]),
    ("[ip, user_identifier, user, timestamp, request, status_code >= 201 && status_code <= 204, response_size]", ID, false, &[]),
    ("[ip != 10.0.0.1, user_identifier, user, timestamp, request, status_code = 200, response_size]", ID, true, &[]),
    ("[(ip != 10.* && ip != 192.*) || ip = 127.*, user_identifier, user, timestamp, request, status_code, response_size]", ID, true, &[]),
    ("[(ip != 10.* && ip != 127.*) || ip = 192.*, user_identifier, user, timestamp, request, status_code, response_size]", ID, false, &[]),
    ("[a, b]", "tab\tseparated", true, &[("$a", "tab"), ("$b", "separated")]),
    ("[a, b = \"two words\"]", "one \"two words\"", true, &[("$a", "one"), ("$b", "two words")]),
    ("[a = 1e3, b]", "1000 x", true, &[]),
    ("[a = 1000, b]", "1e3 x", true, &[]),
    ("[a = 400, b]", "abc x", false, &[]),
    ("[a != 400, b]", "abc x", true, &[]),
    ("[a > 400, b]", "abc x", false, &[]),
    ("[a = *, b]", "anything x", true, &[]),
    ("[a != *, b]", "anything x", false, &[]),
    // JSON: selectors, strings, wildcards.
    ("{ $.eventType = \"UpdateTrail\" }", A, true, &[]),
    ("{ $.eventType = UpdateTrail }", A, true, &[]),
    ("{$.eventType=\"UpdateTrail\"}", A, true, &[]),
    ("{ $.eventType = \"updatetrail\" }", A, false, &[]),
    ("{ $.eventType = \"*Trail\" }", A, true, &[]),
    ("{ $.eventType = \"Update*\" }", A, true, &[]),
    ("{ $.eventType = \"*date*\" }", A, true, &[]),
    ("{ $.eventType = \"Up*Trail\" }", A, false, &[]),
    ("{ $.eventType = * }", A, true, &[]),
    ("{ $.eventType = \"*\" }", A, true, &[]),
    ("{ $.missing = * }", A, false, &[]),
    ("{ $.eventType != \"UpdateTrail\" }", A, false, &[]),
    ("{ $.eventType != \"DeleteTrail\" }", A, true, &[]),
    ("{ $.missing != \"DeleteTrail\" }", A, false, &[]),
    ("{ $.sourceIPAddress != 123.123.* }", A, true, &[]),
    ("{ $.sourceIPAddress = 111.111.* }", A, true, &[]),
    ("{ $.sourceIPAddress = 111.111.111.111 }", A, true, &[]),
    ("{ $.arrayKey[0] = \"value\" }", A, true, &[]),
    ("{ $.arrayKey[1] = \"another value\" }", A, true, &[]),
    ("{ $.arrayKey[2] = \"value\" }", A, false, &[]),
    ("{ $.arrayKey = \"value\" }", A, false, &[]),
    ("{ $.arrayKey != \"value\" }", A, false, &[]),
    ("{ $.objectList[1].id = 2 }", A, true, &[]),
    ("{ $.objectList[0].id = 2 }", A, false, &[]),
    ("{ $.objectList[1].name = b }", A, true, &[]),
    ("{ $.objectList[*].name = b }", A, true, &[]),
    ("{ $.objectList[*].name = c }", A, false, &[]),
    ("{ $.arrayKey[*] = %val.{2}% }", A, true, &[]),
    ("{ $.* = %111\\.111\\.111\\.1[0-9]{1,2}% }", A, true, &[]),
    ("{ $.* = %112\\.% }", A, false, &[]),
    ("{ $.['cluster.name'] = \"c\" }", A, true, &[]),
    ("{ $.['cluster.name'] = \"d\" }", A, false, &[]),
    ("{ $.eventType = %Trail% }", A, true, &[]),
    ("{ $.eventType = %^Trail% }", A, false, &[]),
    ("{ $.eventType != %Delete% }", A, true, &[]),
    // IS NULL / TRUE / FALSE and NOT EXISTS.
    ("{ $.SomeObject IS NULL }", A, true, &[]),
    ("{ $.eventType IS NULL }", A, false, &[]),
    ("{ $.missing IS NULL }", A, false, &[]),
    ("{ $.SomeOtherObject NOT EXISTS }", A, true, &[]),
    ("{ $.SomeObject NOT EXISTS }", A, false, &[]),
    ("{ $.objectList[5] NOT EXISTS }", A, true, &[]),
    ("{ $.ThisFlag IS TRUE }", A, true, &[]),
    ("{ $.ThisFlag IS FALSE }", A, false, &[]),
    ("{ $.flag IS FALSE }", N, true, &[]),
    ("{ $.ThisFlag = true }", A, false, &[]),
    ("{ $.ThisFlag is true }", A, true, &[]),
    // Compound expressions: && before ||.
    ("{ ($.user.id = 1) && ($.users[0].email = \"John.Doe@example.com\") }", B, true, &[]),
    ("{ ($.user.id = 2 && $.users[0].email = \"nonmatch\") || $.actions[2] = \"GET\" }", B, false, &[]),
    ("{ $.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = \"nonmatch\" && $.actions[2] = \"nonmatch\" }", B, true, &[]),
    ("{ ($.user.email = \"John.Stiles@example.com\" || $.coordinates[0][1] = \"nonmatch\") && $.actions[2] = \"nonmatch\" }", B, false, &[]),
    ("{ $.coordinates[1][2] = 6 }", B, true, &[]),
    ("{ $.coordinates[*][2] = 9 }", B, true, &[]),
    ("{ $.coordinates[*][2] = 3 }", B, false, &[]),
    ("{ $.users[*].email = \"Jane*\" }", B, true, &[]),
    ("{ $.actions[*] = DELETE && $.user.id = 1 }", B, true, &[]),
    ("{ $.users = 1 }", r#"{"users":[1,2,3]}"#, false, &[]),
    ("{ $.users != 1 }", r#"{"users":[1,2,3]}"#, false, &[]),
    ("{$.foo = bar}", r#"{"foo": "bar"}"#, true, &[]),
    ("{$.foo = bar}", r#"{"foo": "baz"}"#, false, &[]),
    ("{$.foo = bar || $.foo = baz }", r#"{"foo": "baz"}"#, true, &[]),
    ("{ $.userIdentity.type = Root && $.eventSource = autoscaling* }", r#"{"userIdentity":{"type":"Root"},"eventSource":"autoscaling.amazonaws.com"}"#, true, &[]),
    // Numbers: signs, decimals, exponents; numbers in strings.
    ("{ $.bandwidth > 75 }", N, true, &[]),
    ("{ $.latency < 50 }", N, false, &[]),
    ("{ $.latency <= 50 }", N, true, &[]),
    ("{ $.refreshRate >= 60 }", N, true, &[]),
    ("{ $.responseTime <= 5 }", N, true, &[]),
    ("{ $.errorCode = 400 }", N, true, &[]),
    ("{ $.errorCode != 500 }", N, true, &[]),
    ("{ $.errorCode = 4* }", N, true, &[]),
    ("{ $.latency = * }", N, true, &[]),
    ("{ $.latency > +49.5 }", N, true, &[]),
    ("{ $.neg < -2 }", N, true, &[]),
    ("{ $.neg = -2.5 }", N, true, &[]),
    ("{ $.neg = -25e-1 }", N, true, &[]),
    ("{ $.numbers[0] = 1e+3 }", N, true, &[]),
    ("{ $.numbers[0] < 10e3 }", N, true, &[]),
    ("{ $.numbers[1] != 1e-3 }", N, false, &[]),
    ("{ $.numbers[1] < 10e-3 }", N, true, &[]),
    ("{ $.code = 400 }", N, true, &[]),
    ("{ $.code > 399 }", N, true, &[]),
    ("{ $.exp = 1000 }", N, false, &[]),
    ("{ $.exp != 1000 }", N, true, &[]),
    ("{ $.requestType > 5 }", N, false, &[]),
    ("{ $.empty = \"\" }", N, true, &[]),
    ("{ $.nested.deep.er = \"x-y\" }", N, true, &[]),
    ("{ $.nested.deep.er = x-y }", N, true, &[]),
    ("{ $.nested.* IS NULL }", N, false, &[]),
    // Not JSON, or JSON of another shape.
    ("{ $.eventType = * }", "not json at all", false, &[]),
    ("{ $.eventType NOT EXISTS }", "not json at all", false, &[]),
    ("{ $.a = 1 }", "[1, 2]", false, &[]),
    ("{ $.a NOT EXISTS }", "[1, 2]", true, &[]),
];

/// Patterns AWS refuses, each with a part of the reason given.
const REFUSED: &[(&str, &str)] = &[
    ("{ $.eventType = \"UpdateTrail\" ", "must end with '}'"),
    ("{ $.a IS NOT NULL }", "IS NOT"),
    ("{ $.a EXISTS }", "EXISTS"),
    ("{ $.a = 'single' }", "single quotes"),
    ("{ eventType = x }", "selector"),
    ("{ $ = x }", "selector"),
    ("{ $. = x }", "property name"),
    ("{ $.a[x] = 1 }", "index"),
    ("{ $.a }", "comparison"),
    ("{ $.a IS MAYBE }", "NULL, TRUE or FALSE"),
    ("{ $.a NOT THERE }", "EXISTS"),
    ("{ $.a = }", "no value"),
    ("{ $.a = x y }", "unexpected"),
    ("{ ($.a = 1 }", "parenthesis"),
    ("{ $.a > abc }", "compare numbers"),
    ("{ $.a < \"5\" }", "compare numbers"),
    ("{ $.a = a@b }", "double quotes"),
    ("{ $.a = \"open }", "not closed"),
    ("{ $.a[*].b[*] = 1 }", "one wildcard"),
    ("{ $.a[*] = 1 || $.b[*] = 1 || $.c[*] = 1 || $.d.* = 1 }", "wildcard selectors"),
    ("{ $.a = %(x)% }", "parentheses"),
    ("{ $.a = %x% || $.b = %y% || $.c = %z% }", "regular expressions"),
    ("{ $.a = %x }", "not closed"),
    ("{ $.a = %caf\u{e9}% }", "not supported"),
    ("{ $.a = %something!% }", "not supported"),
    ("[a, ..., b, ...]", "Duplicate field '...'"),
    ("[a, b", "starts with [ and ends with ]"),
    ("[]", "at least one field"),
    ("[a = 1 && b = 2, c]", "another field"),
    ("[a =, b]", "no value"),
    ("[a ~ 1, b]", "operator"),
    ("[a > x, b]", "compare numbers"),
    ("[(a = 1, b]", "unbalanced"),
    ("[a = \"x, b]", "unbalanced"),
    ("ERROR@host", "invalid character"),
    ("a/b", "invalid character"),
    ("\"unclosed", "not closed"),
    ("ERROR -", "not followed"),
    ("?", "not followed"),
    ("%%", "empty regular expression"),
    ("%a% %b% %c%", "regular expressions"),
    ("%(a)%", "parentheses"),
];

fn describe(pattern: &str, event: &str) -> String {
    format!("pattern {pattern:?} on event {event:?}")
}

#[test]
fn patterns_match_and_extract_as_aws_documents() {
    for (pattern, event, want, extracted) in ROWS {
        let p = FilterPattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern:?} is refused: {e}"));
        let got = p.matches(event);
        assert_eq!(got.is_some(), *want, "{}", describe(pattern, event));
        // Matching a shared, once-parsed event answers the same.
        let shared = cairn_logs::LogEvent::new(event);
        assert_eq!(p.matches_event(&shared), got.as_ref().map(|m| m.extracted.clone()), "{}", describe(pattern, event));
        if let Some(m) = got {
            if !extracted.is_empty() {
                let expected: Vec<(String, String)> =
                    extracted.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                assert_eq!(m.extracted, expected, "{}", describe(pattern, event));
            }
            if p.kind() != PatternKind::Delimited {
                assert!(m.extracted.is_empty(), "{}", describe(pattern, event));
            }
        }
    }
    assert!(ROWS.len() >= 200, "{} rows", ROWS.len());
}

#[test]
fn what_aws_refuses_is_refused_with_the_reason() {
    for (pattern, reason) in REFUSED {
        match FilterPattern::parse(pattern) {
            Ok(p) => panic!("{pattern:?} parsed: {p:?}"),
            Err(e) => assert!(e.to_string().contains(reason), "{pattern:?}: {e} (expected {reason:?})"),
        }
    }
    let long = format!("\"{}\"", "x".repeat(1023));
    assert_eq!(FilterPattern::parse(&long).unwrap_err(), Error::TooLong(1025));
    assert!(FilterPattern::parse(&format!("\"{}\"", "x".repeat(1022))).is_ok());
}

#[test]
fn kinds_and_regex_counts() {
    for (pattern, kind, regexes) in [
        ("ERROR", PatternKind::Terms, 0),
        ("", PatternKind::Terms, 0),
        ("%a% -%b%", PatternKind::Terms, 2),
        ("[a, b=%x%]", PatternKind::Delimited, 1),
        ("  { $.a = %x% || $.b = %y% }  ", PatternKind::Json, 2),
    ] {
        let p = FilterPattern::parse(pattern).unwrap();
        assert_eq!((p.kind(), p.regex_count()), (kind, regexes), "{pattern:?}");
    }
}

#[test]
fn values_metric_filters_read() {
    let json = FilterPattern::parse("{ $.eventType = \"*\" && $.sourceIPAddress != 123.123.* }").unwrap();
    let m = json.matches(A).unwrap();
    assert_eq!(m.value("$.eventType").as_deref(), Some("UpdateTrail"));
    assert_eq!(m.value("$.objectList[1].id").as_deref(), Some("2"));
    assert_eq!(m.value("$.ThisFlag").as_deref(), Some("true"));
    assert_eq!(m.value("$.['cluster.name']").as_deref(), Some("c"));
    for absent in ["$.SomeObject", "$.arrayKey", "$.missing", "$.objectList[9].id", "$eventType", "$.a b"] {
        assert_eq!(m.value(absent), None, "{absent}");
    }
    let latency = FilterPattern::parse("{ $.latency = * }").unwrap().matches(N).unwrap();
    assert_eq!(latency.value("$.latency").as_deref(), Some("50"));

    let delimited =
        FilterPattern::parse("[ip, server, username, timestamp, request, status_code, bytes > 1000]").unwrap();
    let m = delimited.matches(S).unwrap();
    assert_eq!(m.value("$server").as_deref(), Some("Prod"));
    assert_eq!(m.value("$bytes").as_deref(), Some("1534"));
    assert_eq!(m.value("$size"), None);
    assert_eq!(m.value("$.bytes"), None);
    let unnamed = FilterPattern::parse("[..., status_code, bytes]").unwrap().matches(S).unwrap();
    assert_eq!(unnamed.value("$5").as_deref(), Some("GET /index.html HTTP/1.0"));
    let shared = cairn_logs::LogEvent::new(A);
    assert_eq!(shared.value("$.objectList[0].name", &[]).as_deref(), Some("a"));
    assert_eq!(shared.value("$server", &[("$server".into(), "Prod".into())]).as_deref(), Some("Prod"));
}

/// Every CloudTrail record of the reference folder: the events of the sample logs and of AWS's documented examples.
fn reference_records() -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference");
    let mut out = Vec::new();
    let mut add = |name: String, v: Value| match v {
        Value::Array(events) => out.extend(events.into_iter().enumerate().map(|(i, e)| (format!("{name}#{i}"), e))),
        Value::Object(mut m) if m.contains_key("Records") => {
            if let Some(Value::Array(events)) = m.remove("Records") {
                out.extend(events.into_iter().enumerate().map(|(i, e)| (format!("{name}#{i}"), e)));
            }
        }
        Value::Object(m) if m.contains_key("eventName") => out.push((name, Value::Object(m))),
        _ => {}
    };
    for sub in ["sample-logs/stratus-red-team-detonation-logs", "sample-logs/cloudgrep-tests", "aws-docs-examples/json"]
    {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(sub)).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files.into_iter().filter(|f| f.extension().is_some_and(|x| x == "json")) {
            let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(&f).unwrap()) else { continue };
            add(f.file_name().unwrap().to_string_lossy().into_owned(), v);
        }
    }
    out
}

/// What each CIS filter is meant to catch, read directly from a record.
fn cis_intent(id: &str, e: &Value) -> bool {
    let s = |path: &str| -> Option<&str> { e.pointer(path).and_then(Value::as_str) };
    let name = s("/eventName").unwrap_or_default();
    let source = s("/eventSource").unwrap_or_default();
    let named = |names: &[&str]| names.contains(&name);
    let error = s("/errorCode");
    let unauthorized = error.is_some_and(|c| c.ends_with("UnauthorizedOperation"));
    let denied = error.is_some_and(|c| c.starts_with("AccessDenied"));
    match id {
        "CloudWatch.1" => {
            s("/userIdentity/type") == Some("Root")
                && e.pointer("/userIdentity/invokedBy").is_none()
                && s("/eventType").is_some_and(|t| t != "AwsServiceEvent")
        }
        "CloudWatch.2" => unauthorized || denied,
        "CloudWatch.2b" => {
            unauthorized
                || (denied
                    && s("/sourceIPAddress").is_some_and(|i| i != "delivery.logs.amazonaws.com")
                    && name != "HeadBucket"
                    && e.get("eventName").is_some())
        }
        "CloudWatch.3" => {
            name == "ConsoleLogin"
                && s("/additionalEventData/MFAUsed").is_some_and(|m| m != "Yes")
                && s("/userIdentity/type") == Some("IAMUser")
                && s("/responseElements/ConsoleLogin") == Some("Success")
        }
        "CloudWatch.4" => named(&[
            "DeleteGroupPolicy",
            "DeleteRolePolicy",
            "DeleteUserPolicy",
            "PutGroupPolicy",
            "PutRolePolicy",
            "PutUserPolicy",
            "CreatePolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "DeletePolicyVersion",
            "AttachRolePolicy",
            "DetachRolePolicy",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        ]),
        "CloudWatch.5" => named(&["CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"]),
        "CloudWatch.6" => name == "ConsoleLogin" && s("/errorMessage") == Some("Failed authentication"),
        "CloudWatch.7" => source == "kms.amazonaws.com" && named(&["DisableKey", "ScheduleKeyDeletion"]),
        "CloudWatch.8" => {
            source == "s3.amazonaws.com"
                && named(&[
                    "PutBucketAcl",
                    "PutBucketPolicy",
                    "PutBucketCors",
                    "PutBucketLifecycle",
                    "PutBucketReplication",
                    "DeleteBucketPolicy",
                    "DeleteBucketCors",
                    "DeleteBucketLifecycle",
                    "DeleteBucketReplication",
                ])
        }
        "CloudWatch.9" => {
            source == "config.amazonaws.com"
                && named(&[
                    "StopConfigurationRecorder",
                    "DeleteDeliveryChannel",
                    "PutDeliveryChannel",
                    "PutConfigurationRecorder",
                ])
        }
        "CloudWatch.10" => named(&[
            "AuthorizeSecurityGroupIngress",
            "AuthorizeSecurityGroupEgress",
            "RevokeSecurityGroupIngress",
            "RevokeSecurityGroupEgress",
            "CreateSecurityGroup",
            "DeleteSecurityGroup",
        ]),
        "CloudWatch.11" => named(&[
            "CreateNetworkAcl",
            "CreateNetworkAclEntry",
            "DeleteNetworkAcl",
            "DeleteNetworkAclEntry",
            "ReplaceNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
        ]),
        "CloudWatch.12" => named(&[
            "CreateCustomerGateway",
            "DeleteCustomerGateway",
            "AttachInternetGateway",
            "CreateInternetGateway",
            "DeleteInternetGateway",
            "DetachInternetGateway",
        ]),
        "CloudWatch.13" => named(&[
            "CreateRoute",
            "CreateRouteTable",
            "ReplaceRoute",
            "ReplaceRouteTableAssociation",
            "DeleteRouteTable",
            "DeleteRoute",
            "DisassociateRouteTable",
        ]),
        "CloudWatch.14" => named(&[
            "CreateVpc",
            "DeleteVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
            "CreateVpcPeeringConnection",
            "DeleteVpcPeeringConnection",
            "RejectVpcPeeringConnection",
            "AttachClassicLinkVpc",
            "DetachClassicLinkVpc",
            "DisableVpcClassicLink",
            "EnableVpcClassicLink",
        ]),
        "CIS.4.15" => {
            source == "organizations.amazonaws.com"
                && named(&[
                    "AcceptHandshake",
                    "AttachPolicy",
                    "CreateAccount",
                    "CreateOrganizationalUnit",
                    "CreatePolicy",
                    "DeclineHandshake",
                    "DeleteOrganization",
                    "DeleteOrganizationalUnit",
                    "DeletePolicy",
                    "DetachPolicy",
                    "DisablePolicyType",
                    "EnablePolicyType",
                    "InviteAccountToOrganization",
                    "LeaveOrganization",
                    "MoveAccount",
                    "RemoveAccountFromOrganization",
                    "UpdatePolicy",
                    "UpdateOrganizationalUnit",
                ])
        }
        other => panic!("no intent written for {other}"),
    }
}

#[test]
fn cis_metric_filters_catch_what_they_mean_in_real_records() {
    let tsv = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/cis-metric-filters.tsv"),
    )
    .unwrap();
    let records = reference_records();
    assert!(records.len() > 300, "{} records", records.len());
    let mut checked = 0;
    let mut caught = std::collections::BTreeMap::new();
    for line in tsv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (id, pattern) = (cols[0], cols[2]);
        let p = FilterPattern::parse(pattern).unwrap_or_else(|e| panic!("{id} is refused: {e}"));
        assert_eq!(p.kind(), PatternKind::Json, "{id}");
        for (name, record) in &records {
            let got = p.matches(&record.to_string()).is_some();
            assert_eq!(got, cis_intent(id, record), "{id} on {name}");
            *caught.entry(id.to_string()).or_insert(0) += usize::from(got);
            checked += 1;
        }
    }
    assert!(checked > 4_000, "{checked} pairs");
    // The samples hold records each of these catches; an engine that matches nothing would fail here.
    for id in [
        "CloudWatch.1",
        "CloudWatch.2",
        "CloudWatch.2b",
        "CloudWatch.3",
        "CloudWatch.4",
        "CloudWatch.5",
        "CloudWatch.6",
        "CloudWatch.10",
        "CIS.4.15",
    ] {
        assert!(caught.get(id).copied().unwrap_or(0) > 0, "{id} caught nothing: {caught:?}");
    }
}

#[test]
fn cis_precedence_and_edges_on_made_records() {
    let tsv = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/cis-metric-filters.tsv"),
    )
    .unwrap();
    let pattern = |id: &str| {
        let line = tsv.lines().find(|l| l.starts_with(&format!("{id}\t"))).unwrap();
        FilterPattern::parse(line.split('\t').nth(2).unwrap()).unwrap()
    };
    let record = |v: Value| v.to_string();
    let unauthorized_2b = pattern("CloudWatch.2b");
    // `||` binds looser than `&&`: the exclusions apply to AccessDenied only.
    let head = |code: &str| {
        record(serde_json::json!({"errorCode": code, "eventName": "HeadBucket", "sourceIPAddress": "1.2.3.4"}))
    };
    assert!(unauthorized_2b.matches(&head("Client.UnauthorizedOperation")).is_some());
    assert!(unauthorized_2b.matches(&head("AccessDenied")).is_none());
    assert!(unauthorized_2b.matches(&head("UnauthorizedOperation")).is_some());
    let cw2 = pattern("CloudWatch.2");
    assert!(cw2.matches(&head("AccessDeniedException")).is_some());
    assert!(cw2.matches(&head("ThrottlingException")).is_none());
    let mfa = pattern("CloudWatch.3");
    let login = |mfa: &str| {
        record(serde_json::json!({"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": mfa},
            "userIdentity": {"type": "IAMUser"}, "responseElements": {"ConsoleLogin": "Success"}}))
    };
    assert!(mfa.matches(&login("No")).is_some());
    assert!(mfa.matches(&login("YES")).is_some());
    assert!(mfa.matches(&login("Yes")).is_none());
    let root = pattern("CloudWatch.1");
    let by_root = |invoked: Option<&str>| {
        let mut v = serde_json::json!({"userIdentity": {"type": "Root"}, "eventType": "AwsApiCall"});
        if let Some(i) = invoked {
            v["userIdentity"]["invokedBy"] = Value::String(i.into());
        }
        record(v)
    };
    assert!(root.matches(&by_root(None)).is_some());
    assert!(root.matches(&by_root(Some("AWS Internal"))).is_none());
}
