//! cairn's library of Lake queries: the sample investigation queries SearchSampleQueries ranks by relevance to a
//! phrase (each names its store `$EDS_ID`, as AWS's samples do), and the managed queries behind query aliases (the
//! Highlights dashboard's widgets), whose `?` placeholders take the dashboard's parameters.

/// One sample query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleQuery {
    pub name: &'static str,
    pub description: &'static str,
    pub sql: &'static str,
}

const fn q(name: &'static str, description: &'static str, sql: &'static str) -> SampleQuery {
    SampleQuery { name, description, sql }
}

/// The placeholder samples use for the store they read.
pub const STORE_PLACEHOLDER: &str = "$EDS_ID";

/// Investigation queries for stores of CloudTrail events.
pub const SAMPLES: &[SampleQuery] = &[
    q("Top event names", "The 10 most frequent API calls (event names) and their sources, over the last 7 days.",
      "SELECT eventSource, eventName, count(*) AS calls FROM $EDS_ID WHERE eventTime > date_add('day', -7, now()) GROUP BY eventSource, eventName ORDER BY calls DESC LIMIT 10"),
    q("Top event sources", "Which AWS services were called most, by event source.",
      "SELECT eventSource, count(*) AS calls FROM $EDS_ID GROUP BY eventSource ORDER BY calls DESC LIMIT 20"),
    q("Failed console sign-ins", "Console logins that failed, with the user, source IP address and error message.",
      "SELECT eventTime, useridentity.username, sourceIPAddress, errorMessage FROM $EDS_ID WHERE eventName = 'ConsoleLogin' AND element_at(responseelements, 'ConsoleLogin') = 'Failure' ORDER BY eventTime DESC"),
    q("Console sign-ins without MFA", "Successful console logins of IAM users who did not use multi-factor authentication (MFA).",
      "SELECT eventTime, useridentity.arn, sourceIPAddress FROM $EDS_ID WHERE eventName = 'ConsoleLogin' AND element_at(additionaleventdata, 'MFAUsed') = 'No' AND useridentity.type = 'IAMUser' ORDER BY eventTime DESC"),
    q("Root account activity", "Every call made with the root user's credentials, newest first.",
      "SELECT eventTime, eventSource, eventName, sourceIPAddress, userAgent FROM $EDS_ID WHERE useridentity.type = 'Root' ORDER BY eventTime DESC"),
    q("Root console sign-ins", "Console logins of the root user, successful or not.",
      "SELECT eventTime, sourceIPAddress, element_at(responseelements, 'ConsoleLogin') AS result FROM $EDS_ID WHERE eventName = 'ConsoleLogin' AND useridentity.type = 'Root' ORDER BY eventTime DESC"),
    q("Activity of one access key", "Everything done with one access key ID (replace the example key), in time order.",
      "SELECT eventTime, eventSource, eventName, awsRegion, sourceIPAddress, errorCode FROM $EDS_ID WHERE useridentity.accesskeyid = 'AKIAIOSFODNN7EXAMPLE' ORDER BY eventTime"),
    q("Activity of one user", "Everything one IAM user or role session did (replace the example ARN), in time order.",
      "SELECT eventTime, eventSource, eventName, awsRegion, sourceIPAddress, errorCode FROM $EDS_ID WHERE useridentity.arn = 'arn:aws:iam::111122223333:user/alice' ORDER BY eventTime"),
    q("Calls by source IP address", "How many calls came from each source IP address, and from how many identities.",
      "SELECT sourceIPAddress, count(*) AS calls, count(DISTINCT useridentity.arn) AS identities FROM $EDS_ID GROUP BY sourceIPAddress ORDER BY calls DESC LIMIT 50"),
    q("Activity from one IP address", "Every call from one source IP address (replace the example address).",
      "SELECT eventTime, useridentity.arn, eventSource, eventName, errorCode FROM $EDS_ID WHERE sourceIPAddress = '203.0.113.10' ORDER BY eventTime"),
    q("Errors by service", "Failed calls (with an error code) counted by event source and error code.",
      "SELECT eventSource, errorCode, count(*) AS failures FROM $EDS_ID WHERE errorCode IS NOT NULL GROUP BY eventSource, errorCode ORDER BY failures DESC"),
    q("Access denied calls", "Calls refused with AccessDenied or UnauthorizedOperation errors, by identity and event name.",
      "SELECT useridentity.arn, eventSource, eventName, count(*) AS denied FROM $EDS_ID WHERE errorCode IN ('AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Client.UnauthorizedOperation') GROUP BY useridentity.arn, eventSource, eventName ORDER BY denied DESC"),
    q("Identities with the most access denied errors", "Which identities were refused most often: a sign of probing or misconfiguration.",
      "SELECT useridentity.arn, count(*) AS denied FROM $EDS_ID WHERE errorCode LIKE '%AccessDenied%' OR errorCode LIKE '%Unauthorized%' GROUP BY useridentity.arn ORDER BY denied DESC LIMIT 20"),
    q("IAM policy changes", "Changes to IAM policies: created, deleted, attached, detached, new versions.",
      "SELECT eventTime, useridentity.arn, eventName, element_at(requestparameters, 'policyArn') AS policy FROM $EDS_ID WHERE eventSource = 'iam.amazonaws.com' AND eventName IN ('CreatePolicy', 'DeletePolicy', 'CreatePolicyVersion', 'DeletePolicyVersion', 'AttachRolePolicy', 'DetachRolePolicy', 'AttachUserPolicy', 'DetachUserPolicy', 'AttachGroupPolicy', 'DetachGroupPolicy', 'PutUserPolicy', 'PutRolePolicy', 'PutGroupPolicy') ORDER BY eventTime DESC"),
    q("IAM users and access keys created", "New IAM users, access keys and login profiles, with who created them.",
      "SELECT eventTime, useridentity.arn AS creator, eventName, element_at(requestparameters, 'userName') AS user_name FROM $EDS_ID WHERE eventSource = 'iam.amazonaws.com' AND eventName IN ('CreateUser', 'CreateAccessKey', 'CreateLoginProfile') ORDER BY eventTime DESC"),
    q("Roles assumed", "AssumeRole calls by role, with the number of distinct callers.",
      "SELECT element_at(requestparameters, 'roleArn') AS role, count(*) AS sessions, count(DISTINCT useridentity.arn) AS callers FROM $EDS_ID WHERE eventSource = 'sts.amazonaws.com' AND eventName = 'AssumeRole' GROUP BY element_at(requestparameters, 'roleArn') ORDER BY sessions DESC"),
    q("Security group changes", "Security group rules authorized or revoked and groups created or deleted.",
      "SELECT eventTime, useridentity.arn, eventName, element_at(requestparameters, 'groupId') AS group_id FROM $EDS_ID WHERE eventSource = 'ec2.amazonaws.com' AND eventName IN ('AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress', 'CreateSecurityGroup', 'DeleteSecurityGroup') ORDER BY eventTime DESC"),
    q("Network ACL changes", "Changes to network access control lists (NACLs) and their entries.",
      "SELECT eventTime, useridentity.arn, eventName, awsRegion FROM $EDS_ID WHERE eventName IN ('CreateNetworkAcl', 'CreateNetworkAclEntry', 'DeleteNetworkAcl', 'DeleteNetworkAclEntry', 'ReplaceNetworkAclEntry', 'ReplaceNetworkAclAssociation') ORDER BY eventTime DESC"),
    q("Network gateway changes", "Internet, customer and NAT gateways created, attached, detached or deleted.",
      "SELECT eventTime, useridentity.arn, eventName, awsRegion FROM $EDS_ID WHERE eventName IN ('CreateCustomerGateway', 'DeleteCustomerGateway', 'AttachInternetGateway', 'CreateInternetGateway', 'DeleteInternetGateway', 'DetachInternetGateway', 'CreateNatGateway', 'DeleteNatGateway') ORDER BY eventTime DESC"),
    q("Route table changes", "Routes and route tables created, replaced, associated or deleted.",
      "SELECT eventTime, useridentity.arn, eventName, awsRegion FROM $EDS_ID WHERE eventSource = 'ec2.amazonaws.com' AND eventName IN ('CreateRoute', 'CreateRouteTable', 'ReplaceRoute', 'ReplaceRouteTableAssociation', 'DeleteRouteTable', 'DeleteRoute', 'DisassociateRouteTable') ORDER BY eventTime DESC"),
    q("VPC changes", "VPCs created, deleted or modified, and VPC peering and ClassicLink changes.",
      "SELECT eventTime, useridentity.arn, eventName, awsRegion FROM $EDS_ID WHERE eventName IN ('CreateVpc', 'DeleteVpc', 'ModifyVpcAttribute', 'AcceptVpcPeeringConnection', 'CreateVpcPeeringConnection', 'DeleteVpcPeeringConnection', 'RejectVpcPeeringConnection', 'AttachClassicLinkVpc', 'DetachClassicLinkVpc', 'DisableVpcClassicLink', 'EnableVpcClassicLink') ORDER BY eventTime DESC"),
    q("CloudTrail configuration changes", "Trails created, updated, deleted, stopped or started: someone touching the audit trail itself.",
      "SELECT eventTime, useridentity.arn, eventName, element_at(requestparameters, 'name') AS trail FROM $EDS_ID WHERE eventSource = 'cloudtrail.amazonaws.com' AND eventName IN ('CreateTrail', 'UpdateTrail', 'DeleteTrail', 'StartLogging', 'StopLogging', 'PutEventSelectors') ORDER BY eventTime DESC"),
    q("KMS keys disabled or scheduled for deletion", "Customer managed KMS keys disabled or scheduled for deletion.",
      "SELECT eventTime, useridentity.arn, eventName, element_at(requestparameters, 'keyId') AS key_id FROM $EDS_ID WHERE eventSource = 'kms.amazonaws.com' AND eventName IN ('DisableKey', 'ScheduleKeyDeletion') ORDER BY eventTime DESC"),
    q("S3 bucket policy changes", "Bucket policies, ACLs, CORS, lifecycle and replication settings changed.",
      "SELECT eventTime, useridentity.arn, eventName, element_at(requestparameters, 'bucketName') AS bucket FROM $EDS_ID WHERE eventSource = 's3.amazonaws.com' AND eventName IN ('PutBucketAcl', 'PutBucketPolicy', 'PutBucketCors', 'PutBucketLifecycle', 'PutBucketReplication', 'DeleteBucketPolicy', 'DeleteBucketCors', 'DeleteBucketLifecycle', 'DeleteBucketReplication') ORDER BY eventTime DESC"),
    q("S3 buckets created or deleted", "Buckets created or deleted, with who did it and from where.",
      "SELECT eventTime, useridentity.arn, eventName, element_at(requestparameters, 'bucketName') AS bucket, sourceIPAddress FROM $EDS_ID WHERE eventSource = 's3.amazonaws.com' AND eventName IN ('CreateBucket', 'DeleteBucket') ORDER BY eventTime DESC"),
    q("S3 objects read by identity", "Data events: how many objects each identity read from each bucket.",
      "SELECT useridentity.arn, element_at(requestparameters, 'bucketName') AS bucket, count(*) AS reads FROM $EDS_ID WHERE eventSource = 's3.amazonaws.com' AND eventName = 'GetObject' GROUP BY useridentity.arn, element_at(requestparameters, 'bucketName') ORDER BY reads DESC"),
    q("AWS Config changes", "Configuration recorders stopped or deleted and delivery channels removed.",
      "SELECT eventTime, useridentity.arn, eventName FROM $EDS_ID WHERE eventSource = 'config.amazonaws.com' AND eventName IN ('StopConfigurationRecorder', 'DeleteDeliveryChannel', 'PutDeliveryChannel', 'PutConfigurationRecorder') ORDER BY eventTime DESC"),
    q("Resources touched by a call", "Each resource named by the calls' resources list, with its type: UNNEST over resources.",
      "SELECT r.type, r.arn, count(*) AS calls FROM $EDS_ID CROSS JOIN UNNEST(resources) AS t(r) GROUP BY r.type, r.arn ORDER BY calls DESC LIMIT 50"),
    q("Calls on one resource", "Every call naming one resource ARN in its resources list (replace the example ARN).",
      "SELECT eventTime, useridentity.arn, eventName FROM $EDS_ID WHERE any_match(resources, r -> r.arn = 'arn:aws:s3:::amzn-s3-demo-bucket') ORDER BY eventTime"),
    q("Calls per hour", "The number of calls in each hour, to spot bursts of activity.",
      "SELECT date_trunc('hour', eventTime) AS hour, count(*) AS calls FROM $EDS_ID GROUP BY date_trunc('hour', eventTime) ORDER BY hour"),
    q("Errors per day", "How many calls failed each day, and the share of failures.",
      "SELECT date_trunc('day', eventTime) AS day, count(*) AS calls, count(errorCode) AS failures FROM $EDS_ID GROUP BY date_trunc('day', eventTime) ORDER BY day"),
    q("Regions in use", "Calls by AWS Region: activity in an unexpected Region is worth a look.",
      "SELECT awsRegion, count(*) AS calls, count(DISTINCT useridentity.arn) AS identities FROM $EDS_ID GROUP BY awsRegion ORDER BY calls DESC"),
    q("New user agents", "User agents by first and last use: tools an identity had not used before.",
      "SELECT userAgent, min(eventTime) AS first_seen, max(eventTime) AS last_seen, count(*) AS calls FROM $EDS_ID GROUP BY userAgent ORDER BY first_seen DESC LIMIT 50"),
    q("Most active identities", "Identities by number of calls, with their type.",
      "SELECT useridentity.arn, useridentity.type, count(*) AS calls FROM $EDS_ID GROUP BY useridentity.arn, useridentity.type ORDER BY calls DESC LIMIT 20"),
    q("Write calls by identity", "Calls that changed something (readOnly false), by identity.",
      "SELECT useridentity.arn, count(*) AS writes FROM $EDS_ID WHERE readOnly = false GROUP BY useridentity.arn ORDER BY writes DESC LIMIT 20"),
    q("Each identity's latest call", "The most recent call of every identity: a window function over identities.",
      "SELECT arn, eventTime, eventName FROM (SELECT useridentity.arn AS arn, eventTime, eventName, row_number() OVER (PARTITION BY useridentity.arn ORDER BY eventTime DESC) AS n FROM $EDS_ID) WHERE n = 1 ORDER BY eventTime DESC"),
    q("Calls without TLS 1.2 or later", "Calls made over TLS versions older than 1.2, by identity and user agent.",
      "SELECT useridentity.arn, userAgent, tlsdetails.tlsversion, count(*) AS calls FROM $EDS_ID WHERE tlsdetails.tlsversion IN ('TLSv1', 'TLSv1.1') GROUP BY useridentity.arn, userAgent, tlsdetails.tlsversion ORDER BY calls DESC"),
    q("Calls through VPC endpoints", "Calls that came through a VPC endpoint, by endpoint and service.",
      "SELECT vpcEndpointId, eventSource, count(*) AS calls FROM $EDS_ID WHERE vpcEndpointId IS NOT NULL GROUP BY vpcEndpointId, eventSource ORDER BY calls DESC"),
    q("Console sessions' actions", "Calls made from console sessions (sessionCredentialFromConsole), by identity.",
      "SELECT useridentity.arn, count(*) AS calls FROM $EDS_ID WHERE sessionCredentialFromConsole = 'true' GROUP BY useridentity.arn ORDER BY calls DESC"),
    q("Role sessions by issuer", "Assumed-role activity grouped by the role that issued the session.",
      "SELECT useridentity.sessioncontext.sessionissuer.arn AS role, count(*) AS calls, count(DISTINCT sourceIPAddress) AS addresses FROM $EDS_ID WHERE useridentity.type = 'AssumedRole' GROUP BY useridentity.sessioncontext.sessionissuer.arn ORDER BY calls DESC"),
    q("Calls by AWS services", "Calls that AWS services made for you (invokedBy), by service.",
      "SELECT useridentity.invokedby, eventName, count(*) AS calls FROM $EDS_ID WHERE useridentity.invokedby IS NOT NULL GROUP BY useridentity.invokedby, eventName ORDER BY calls DESC"),
    q("EC2 instances launched", "RunInstances calls with the instance type asked for and the caller.",
      "SELECT eventTime, useridentity.arn, awsRegion, element_at(requestparameters, 'instanceType') AS instance_type, errorCode FROM $EDS_ID WHERE eventSource = 'ec2.amazonaws.com' AND eventName = 'RunInstances' ORDER BY eventTime DESC"),
    q("Secrets read", "Secrets Manager secrets read, by identity and secret.",
      "SELECT useridentity.arn, element_at(requestparameters, 'secretId') AS secret, count(*) AS reads FROM $EDS_ID WHERE eventSource = 'secretsmanager.amazonaws.com' AND eventName = 'GetSecretValue' GROUP BY useridentity.arn, element_at(requestparameters, 'secretId') ORDER BY reads DESC"),
    q("Lambda functions changed", "Lambda functions created, updated, or given new permissions.",
      "SELECT eventTime, useridentity.arn, eventName, element_at(requestparameters, 'functionName') AS function_name FROM $EDS_ID WHERE eventSource = 'lambda.amazonaws.com' AND eventName LIKE '%Function%' AND readOnly = false ORDER BY eventTime DESC"),
    q("Organizations changes", "Accounts leaving or joining the organization and policy changes in AWS Organizations.",
      "SELECT eventTime, useridentity.arn, eventName FROM $EDS_ID WHERE eventSource = 'organizations.amazonaws.com' AND readOnly = false ORDER BY eventTime DESC"),
    q("Request parameters of a call", "Every request parameter key of one event name, with how often each appears: map_keys over requestParameters.",
      "SELECT k, count(*) AS times FROM $EDS_ID CROSS JOIN UNNEST(map_keys(requestparameters)) AS t(k) WHERE eventName = 'RunInstances' GROUP BY k ORDER BY times DESC"),
    q("Event categories and types", "How the store's events split by category (management, data) and event type.",
      "SELECT eventCategory, eventType, count(*) AS events FROM $EDS_ID GROUP BY eventCategory, eventType ORDER BY events DESC"),
    q("Calls from outside the account", "Calls made by identities of other accounts, by account.",
      "SELECT useridentity.accountid, count(*) AS calls FROM $EDS_ID WHERE useridentity.accountid <> recipientAccountId GROUP BY useridentity.accountid ORDER BY calls DESC"),
    q("Time between a user's calls", "The gap in seconds between each call of one identity and its previous one: lag over time.",
      "SELECT useridentity.arn, eventTime, date_diff('second', lag(eventTime) OVER (PARTITION BY useridentity.arn ORDER BY eventTime), eventTime) AS gap_seconds FROM $EDS_ID ORDER BY useridentity.arn, eventTime LIMIT 100"),
];

/// A managed query behind a query alias: its statement, with `?` placeholders for its parameters in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagedQuery {
    pub alias: &'static str,
    pub sql: &'static str,
    pub parameters: &'static [&'static str],
    /// How the console draws it (`View`).
    pub view: &'static str,
}

const STORE_AND_RANGE: &[&str] = &["$EventDataStoreId$", "$StartTime$", "$EndTime$"];

/// The Highlights dashboard's widgets.
pub const HIGHLIGHTS: &[ManagedQuery] = &[
    ManagedQuery {
        alias: "Highlights-TopEventSources",
        sql: "SELECT eventSource, count(*) AS calls FROM ? WHERE eventTime >= '?' AND eventTime <= '?' GROUP BY eventSource ORDER BY calls DESC LIMIT 10",
        parameters: STORE_AND_RANGE,
        view: "BarChart",
    },
    ManagedQuery {
        alias: "Highlights-TopErrors",
        sql: "SELECT errorCode, count(*) AS failures FROM ? WHERE eventTime >= '?' AND eventTime <= '?' AND errorCode IS NOT NULL GROUP BY errorCode ORDER BY failures DESC LIMIT 10",
        parameters: STORE_AND_RANGE,
        view: "BarChart",
    },
    ManagedQuery {
        alias: "Highlights-TopIdentities",
        sql: "SELECT useridentity.arn AS identity, count(*) AS calls FROM ? WHERE eventTime >= '?' AND eventTime <= '?' GROUP BY useridentity.arn ORDER BY calls DESC LIMIT 10",
        parameters: STORE_AND_RANGE,
        view: "Table",
    },
    ManagedQuery {
        alias: "Highlights-AccessDenied",
        sql: "SELECT useridentity.arn AS identity, eventName, count(*) AS denied FROM ? WHERE eventTime >= '?' AND eventTime <= '?' AND (errorCode LIKE '%AccessDenied%' OR errorCode LIKE '%Unauthorized%') GROUP BY useridentity.arn, eventName ORDER BY denied DESC LIMIT 10",
        parameters: STORE_AND_RANGE,
        view: "Table",
    },
    ManagedQuery {
        alias: "Highlights-FailedConsoleLogins",
        sql: "SELECT useridentity.arn AS identity, sourceIPAddress, count(*) AS failures FROM ? WHERE eventTime >= '?' AND eventTime <= '?' AND eventName = 'ConsoleLogin' AND errorMessage IS NOT NULL GROUP BY useridentity.arn, sourceIPAddress ORDER BY failures DESC LIMIT 10",
        parameters: STORE_AND_RANGE,
        view: "Table",
    },
    ManagedQuery {
        alias: "Highlights-CallsOverTime",
        sql: "SELECT date_trunc('?', eventTime) AS period, count(*) AS calls, count(errorCode) AS failures FROM ? WHERE eventTime >= '?' AND eventTime <= '?' GROUP BY date_trunc('?', eventTime) ORDER BY period",
        parameters: &["$Period$", "$EventDataStoreId$", "$StartTime$", "$EndTime$", "$Period$"],
        view: "LineChart",
    },
];

/// The managed query behind `alias`.
pub fn managed(alias: &str) -> Option<&'static ManagedQuery> {
    HIGHLIGHTS.iter().find(|m| m.alias == alias)
}

/// The lower-case words of a text (letters and digits), for matching.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() > 1).map(str::to_lowercase).collect()
}

/// How much `word` matches one of `of`: 1 for the same word, 0.6 for a prefix either way (plural, stem), else 0.
fn word_match(word: &str, of: &[String]) -> f32 {
    of.iter()
        .map(|w| {
            if w == word {
                1.0
            } else if w.len() >= 4 && word.len() >= 4 && (w.starts_with(word) || word.starts_with(w.as_str())) {
                0.6
            } else {
                0.0
            }
        })
        .fold(0.0, f32::max)
}

/// The samples that match `phrase`, most relevant first, each with its relevance (0 to 1): the share of the
/// phrase's words found, weighted by where (name 3, description 2, statement 1).
pub fn search(phrase: &str) -> Vec<(&'static SampleQuery, f32)> {
    let terms = words(phrase);
    if terms.is_empty() {
        return Vec::new();
    }
    let mut ranked: Vec<(&SampleQuery, f32)> = SAMPLES
        .iter()
        .filter_map(|s| {
            let (name, description, sql) = (words(s.name), words(s.description), words(s.sql));
            let score: f32 = terms
                .iter()
                .map(|t| 3.0 * word_match(t, &name) + 2.0 * word_match(t, &description) + word_match(t, &sql))
                .sum();
            let relevance = score / (6.0 * terms.len() as f32);
            (relevance > 0.0).then_some((s, (relevance * 1000.0).round() / 1000.0))
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.name.cmp(b.0.name)));
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_is_large_and_well_formed() {
        assert!(SAMPLES.len() >= 40, "{}", SAMPLES.len());
        let mut names: Vec<&str> = SAMPLES.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SAMPLES.len(), "sample names are unique");
        assert!(SAMPLES.iter().all(|s| s.sql.contains(STORE_PLACEHOLDER)));
        for m in HIGHLIGHTS {
            assert_eq!(m.sql.matches('?').count(), m.parameters.len(), "{}", m.alias);
        }
    }

    #[test]
    fn search_ranks_by_relevance() {
        let found = search("failed console logins");
        assert_eq!(found[0].0.name, "Failed console sign-ins");
        assert!(found.windows(2).all(|w| w[0].1 >= w[1].1));
        assert!(found.iter().all(|(_, r)| *r > 0.0 && *r <= 1.0));
        assert_eq!(search("security group")[0].0.name, "Security group changes");
        assert_eq!(search("root")[0].0.name, "Root account activity");
        assert!(search("zzzz qqqq").is_empty());
        assert!(search("!").is_empty());
    }
}
