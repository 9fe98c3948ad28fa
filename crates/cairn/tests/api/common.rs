//! Test harness: starts the real `cairn` binary on a free port with a temporary data directory, and gives tests
//! the official AWS SDK client and raw requests signed by the official `aws-sigv4` signer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sdk_cloudtrail::config::{BehaviorVersion, Region};
use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings};
use aws_sigv4::sign::v4;

pub const MGMT: (&str, &str, &str) =
    ("111111111111", "AKIAMGMT000000000001", "mgmt-secret-000000000000000000000000000");
pub const MEMBER: (&str, &str, &str) =
    ("222222222222", "AKIAMEMB000000000002", "member-secret-0000000000000000000000000");
pub const MEMBER2: (&str, &str, &str) =
    ("444444444444", "AKIAMEMB000000000004", "member2-secret-000000000000000000000000");
pub const OUTSIDER: (&str, &str, &str) =
    ("333333333333", "AKIAOUTS000000000003", "outsider-secret-00000000000000000000000");
pub const ORG_ID: &str = "o-a1b2c3d4e5";

/// The configuration most tests run with: an organization, members, an outsider, two local buckets.
pub fn config(data_dir: &std::path::Path) -> String {
    let account = |(id, akid, secret): (&str, &str, &str), principal: &str| {
        // The management account's key may ingest into itself and the first member; the others into nothing.
        let ingest = if id == "111111111111" { "[\"111111111111\", \"222222222222\"]" } else { "[]" };
        format!(
            "[[accounts]]\nid = \"{id}\"\n[[accounts.credentials]]\naccess_key_id = \"{akid}\"\nsecret_access_key = \"{secret}\"\nprincipal = \"{principal}\"\ningest_accounts = {ingest}\n"
        )
    };
    format!(
        "data_dir = \"{}\"\nmax_request_bytes = 65536\n{}{}{}{}[organization]\nid = \"{ORG_ID}\"\nmanagement_account = \"111111111111\"\nmember_accounts = [\"222222222222\", \"444444444444\", \"555555555555\", \"666666666666\"]\n[storage]\nkind = \"local\"\nbuckets = [\"trail-bucket\", \"other-bucket\"]\n",
        data_dir.display(),
        account(MGMT, "root"),
        account(MEMBER, "user/alice"),
        account(MEMBER2, "role/auditor"),
        account(OUTSIDER, "root"),
    )
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A temporary directory removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "cairn-test-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `cairn serve`.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    /// Starts cairn with the standard test configuration in a fresh data directory.
    pub fn start(dir: &TempDir) -> Server {
        Server::start_configured(dir, "")
    }

    /// Starts cairn on `dir/cairn.toml`: the standard test configuration with its data under `dir/data`, then
    /// `extra` (TOML sections; a `[storage]` section there replaces the standard local buckets).
    pub fn start_configured(dir: &TempDir, extra: &str) -> Server {
        let config_path = dir.0.join("cairn.toml");
        let mut base = config(&dir.0.join("data"));
        if extra.contains("[storage]") {
            base.truncate(base.find("[storage]").expect("the standard configuration has local storage"));
        }
        std::fs::write(&config_path, base + extra).unwrap();
        Server::start_with(dir.0.clone(), &["--config", config_path.to_str().unwrap()])
    }

    /// Starts cairn with extra arguments after `serve --listen 127.0.0.1:0`.
    pub fn start_with(dir: PathBuf, args: &[&str]) -> Server {
        Server::spawn(dir, args, "warn", Stdio::inherit())
    }

    /// Starts cairn like [`Server::start_with`], its log at `level` written to the file `log` (not a terminal).
    pub fn start_logging_to(dir: PathBuf, args: &[&str], level: &str, log: &std::path::Path) -> Server {
        Server::spawn(dir, args, level, std::fs::File::create(log).unwrap().into())
    }

    fn spawn(dir: PathBuf, args: &[&str], level: &str, stderr: Stdio) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .current_dir(&dir)
            .env("CAIRN_LOG", level)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("cairn starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("cairn did not announce its address: {line:?}"))
            .to_string();
        Server { child, addr }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An SDK client acting as `who` in `region`.
    pub fn client(&self, who: (&str, &str, &str), region: &str) -> aws_sdk_cloudtrail::Client {
        client(&self.endpoint(), who.1, who.2, region)
    }

    /// An S3 client of cairn's own buckets acting as `who` in `region` (path-style, as for any self-hosted S3).
    pub fn s3_client(&self, who: (&str, &str, &str), region: &str) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(region.to_string()))
            .credentials_provider(Credentials::new(who.1, who.2, None, None, "cairn-tests"))
            .endpoint_url(self.endpoint())
            .force_path_style(true)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// A CloudTrail Data client (PutAuditEvents) acting as `who` in `region`.
    pub fn data_client(&self, who: (&str, &str, &str), region: &str) -> aws_sdk_cloudtraildata::Client {
        let conf = aws_sdk_cloudtraildata::Config::builder()
            .behavior_version(aws_sdk_cloudtraildata::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudtraildata::config::Region::new(region.to_string()))
            .credentials_provider(Credentials::new(who.1, who.2, None, None, "cairn-tests"))
            .endpoint_url(self.endpoint())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(aws_sdk_cloudtraildata::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_cloudtraildata::Client::from_conf(conf)
    }

    /// A KMS client of cairn's keys acting as `who` in `region`.
    pub fn kms_client(&self, who: (&str, &str, &str), region: &str) -> aws_sdk_kms::Client {
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
            .region(aws_sdk_kms::config::Region::new(region.to_string()))
            .credentials_provider(Credentials::new(who.1, who.2, None, None, "cairn-tests"))
            .endpoint_url(self.endpoint())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_kms::Client::from_conf(conf)
    }

    pub fn logs_client(&self, who: (&str, &str, &str), region: &str) -> aws_sdk_cloudwatchlogs::Client {
        let conf = aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatchlogs::config::Region::new(region.to_string()))
            .credentials_provider(Credentials::new(who.1, who.2, None, None, "cairn-tests"))
            .endpoint_url(self.endpoint())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(aws_sdk_cloudwatchlogs::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_cloudwatchlogs::Client::from_conf(conf)
    }

    /// A CloudWatch client (RPC v2 CBOR, as the SDK chooses) acting as `who` in `region`.
    pub fn cloudwatch_client(&self, who: (&str, &str, &str), region: &str) -> aws_sdk_cloudwatch::Client {
        let conf = aws_sdk_cloudwatch::Config::builder()
            .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatch::config::Region::new(region.to_string()))
            .credentials_provider(Credentials::new(who.1, who.2, None, None, "cairn-tests"))
            .endpoint_url(self.endpoint())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(aws_sdk_cloudwatch::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_cloudwatch::Client::from_conf(conf)
    }

    /// An SNS client (query protocol) acting as `who` in `region`.
    pub fn sns_client(&self, who: (&str, &str, &str), region: &str) -> aws_sdk_sns::Client {
        let conf = aws_sdk_sns::Config::builder()
            .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
            .region(aws_sdk_sns::config::Region::new(region.to_string()))
            .credentials_provider(Credentials::new(who.1, who.2, None, None, "cairn-tests"))
            .endpoint_url(self.endpoint())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_sns::Client::from_conf(conf)
    }

    /// Creates an SNS topic of `who`'s account whose policy lets CloudTrail publish (what a trail's SnsTopicName
    /// needs); its ARN.
    pub async fn trail_topic(&self, who: (&str, &str, &str), region: &str, name: &str) -> String {
        let sns = self.sns_client(who, region);
        let topic = sns.create_topic().name(name).send().await.unwrap().topic_arn().unwrap().to_string();
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "SNS:Publish", "Resource": topic}]});
        set_topic_policy(&sns, &topic, &policy).await;
        topic
    }

    /// Kills the process with SIGKILL: nothing gets a chance to flush.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "cairn did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every record in a stopped server's journal, parsed as JSON.
/// Sets a topic's policy.
pub async fn set_topic_policy(sns: &aws_sdk_sns::Client, topic: &str, policy: &serde_json::Value) {
    sns.set_topic_attributes()
        .topic_arn(topic)
        .attribute_name("Policy")
        .attribute_value(policy.to_string())
        .send()
        .await
        .unwrap();
}

pub fn journal_events(data_dir: &std::path::Path) -> Vec<serde_json::Value> {
    journal_payloads(data_dir).iter().map(|p| serde_json::from_str(p).unwrap()).collect()
}

/// Every record in a stopped server's journal, as stored.
pub fn journal_payloads(data_dir: &std::path::Path) -> Vec<String> {
    let journal = cairn_journal::Journal::open(&data_dir.join("journal"), Default::default()).unwrap();
    let mut reader = journal.reader(journal.first_seq()).unwrap();
    let mut out = Vec::new();
    loop {
        let batch = reader.next_batch(1000, usize::MAX).unwrap();
        if batch.is_empty() {
            return out;
        }
        out.extend(batch.iter().map(|r| String::from_utf8(r.payload.to_vec()).unwrap()));
    }
}

pub fn client(endpoint: &str, akid: &str, secret: &str, region: &str) -> aws_sdk_cloudtrail::Client {
    let conf = aws_sdk_cloudtrail::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(akid, secret, None, None, "cairn-tests"))
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_sdk_cloudtrail::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_cloudtrail::Client::from_conf(conf)
}

/// The AWS error code of a failed SDK call; panics if the call succeeded.
pub fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    r: Result<T, aws_sdk_cloudtrail::error::SdkError<E, R>>,
) -> String {
    let e = r.expect_err("the call should have failed");
    match e.as_service_error() {
        Some(s) => s.code().unwrap_or("<no code>").to_string(),
        None => panic!("not a service error: {e:?}"),
    }
}

/// How a raw request is signed.
#[derive(Debug, Clone, Copy)]
pub enum Signing<'a> {
    Headers { akid: &'a str, secret: &'a str, at: SystemTime },
    Query { akid: &'a str, secret: &'a str },
    Unsigned,
}

impl Signing<'_> {
    pub fn as_<'a>(who: (&'a str, &'a str, &'a str)) -> Signing<'a> {
        Signing::Headers { akid: who.1, secret: who.2, at: SystemTime::now() }
    }
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
    /// The body as text (XML answers do not parse as JSON).
    pub text: String,
}

impl Raw {
    pub fn error_type(&self) -> &str {
        self.body["__type"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends one POST / with the given target and body, signed by the official signer, over a fresh connection.
pub fn raw(server: &Server, target: Option<&str>, body: &[u8], signing: Signing<'_>) -> Raw {
    let headers: Vec<(&str, &str)> = target.map(|t| ("x-amz-target", t)).into_iter().collect();
    raw_to(server, "/", "cloudtrail", &headers, body, signing)
}

/// Sends one POST to `path` with extra headers, signed for `service` by the official signer.
pub fn raw_to(
    server: &Server,
    path: &str,
    service: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    signing: Signing<'_>,
) -> Raw {
    let mut req = http::Request::builder()
        .method("POST")
        .uri(format!("http://{}{path}", server.addr))
        .header("host", &server.addr)
        .header("content-type", "application/x-amz-json-1.1");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(body.to_vec()).unwrap();
    let sign_with =
        |akid: &str, secret: &str, at: SystemTime, loc: SignatureLocation, req: &mut http::Request<Vec<u8>>| {
            let identity = Credentials::new(akid, secret, None, None, "raw").into();
            let mut settings = SigningSettings::default();
            settings.signature_location = loc;
            settings.expires_in = Some(Duration::from_secs(300));
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name(service)
                .time(at)
                .settings(settings)
                .build()
                .unwrap()
                .into();
            let signable = SignableRequest::new(
                "POST",
                req.uri().to_string(),
                req.headers().iter().map(|(k, v)| (k.as_str(), v.to_str().unwrap())),
                SignableBody::Bytes(req.body()),
            )
            .unwrap();
            let (instructions, _) = sign(signable, &params).unwrap().into_parts();
            instructions.apply_to_request_http1x(req);
        };
    match signing {
        Signing::Headers { akid, secret, at } => sign_with(akid, secret, at, SignatureLocation::Headers, &mut req),
        Signing::Query { akid, secret } => {
            sign_with(akid, secret, SystemTime::now(), SignatureLocation::QueryParams, &mut req)
        }
        Signing::Unsigned => {}
    }
    send(server, &req, None)
}

/// Writes a request on a fresh connection; `content_length` overrides the announced length.
pub fn send(server: &Server, req: &http::Request<Vec<u8>>, content_length: Option<u64>) -> Raw {
    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut head = format!("{} {path} HTTP/1.1\r\nconnection: close\r\n", req.method());
    for (k, v) in req.headers() {
        head.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", content_length.unwrap_or(req.body().len() as u64)));
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (and close) before reading an oversized body.
    let _ = stream.write_all(req.body());
    read_response(stream)
}

pub fn read_response(mut stream: TcpStream) -> Raw {
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    Raw { status, headers, body: serde_json::from_str(body).unwrap_or(serde_json::Value::Null), text: body.to_string() }
}
