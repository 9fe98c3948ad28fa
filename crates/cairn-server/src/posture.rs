//! Posture checks: Security Hub's CloudTrail.1-7 and CloudWatch.1-14 controls evaluated against cairn's own state
//! for the calling account and region, answered by `POST /v1/check` (SigV4-signed for the service `cairn`) and
//! printed by `cairn check`. Each control is PASSED, FAILED (with the resources and reason) or NOT_AVAILABLE (cairn
//! cannot see what it needs).
//!
//! The CloudWatch controls follow Security Hub: a multi-Region trail that is logging, records read and write
//! management events and sends them to a CloudWatch Logs log group must exist; that group must have a metric filter
//! whose pattern is exactly the CIS pattern (whitespace aside); an alarm must watch the filter's metric; and one of
//! the alarm's actions must be an SNS topic with a confirmed subscription.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use cairn_api::shapes::{DescribeTrailsRequest, TrailNameRequest, TrailSelectorRequest};
use cairn_api::ApiError;
use serde_json::{json, Value};

use crate::http::{authenticate, finish, read_body};
use crate::{selectors, trails, App, Ctx};

pub const PATH: &str = "/v1/check";

/// Security Hub's CloudWatch controls: id, what the filter watches, and the CIS pattern it must carry.
const CIS_FILTERS: [(&str, &str, &str); 14] = [
    (
        "CloudWatch.1",
        "usage of the root user",
        r#"{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}"#,
    ),
    (
        "CloudWatch.2",
        "unauthorized API calls",
        r#"{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}"#,
    ),
    (
        "CloudWatch.3",
        "Management Console sign-in without MFA",
        r#"{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }"#,
    ),
    (
        "CloudWatch.4",
        "IAM policy changes",
        r#"{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}"#,
    ),
    (
        "CloudWatch.5",
        "CloudTrail configuration changes",
        r#"{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}"#,
    ),
    (
        "CloudWatch.6",
        "AWS Management Console authentication failures",
        r#"{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}"#,
    ),
    (
        "CloudWatch.7",
        "disabling or scheduled deletion of customer managed keys",
        r#"{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}"#,
    ),
    (
        "CloudWatch.8",
        "S3 bucket policy changes",
        r#"{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}"#,
    ),
    (
        "CloudWatch.9",
        "AWS Config configuration changes",
        r#"{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}"#,
    ),
    (
        "CloudWatch.10",
        "security group changes",
        r#"{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}"#,
    ),
    (
        "CloudWatch.11",
        "changes to Network Access Control Lists (NACL)",
        r#"{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}"#,
    ),
    (
        "CloudWatch.12",
        "changes to network gateways",
        r#"{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}"#,
    ),
    (
        "CloudWatch.13",
        "route table changes",
        r#"{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}"#,
    ),
    (
        "CloudWatch.14",
        "VPC changes",
        r#"{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}"#,
    ),
];

/// How recently a trail must have delivered to CloudWatch Logs (CloudTrail.5).
const LOGS_DELIVERY_WINDOW_MS: i64 = 86_400_000;

/// One control's result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub id: String,
    pub title: String,
    pub status: &'static str,
    pub reason: String,
}

fn finding(id: &str, title: &str, failures: Vec<String>, passed: &str) -> Finding {
    let (status, reason) =
        if failures.is_empty() { ("PASSED", passed.to_string()) } else { ("FAILED", failures.join("; ")) };
    Finding { id: id.into(), title: title.into(), status, reason }
}

/// A trail with what the controls read about it.
struct TrailFacts {
    arn: String,
    description: Value,
    status: Value,
    selectors: Value,
}

impl TrailFacts {
    fn name(&self) -> &str {
        self.description["Name"].as_str().unwrap_or(&self.arn)
    }

    fn multi_region(&self) -> bool {
        self.description["IsMultiRegionTrail"].as_bool() == Some(true)
    }

    fn logging(&self) -> bool {
        self.status["IsLogging"].as_bool() == Some(true)
    }

    /// Whether the trail records read and write management events with no event source excluded.
    fn all_management_events(&self) -> bool {
        let basic = self.selectors["EventSelectors"].as_array().is_some_and(|list| {
            list.iter().any(|s| {
                s["IncludeManagementEvents"].as_bool() != Some(false)
                    && s["ReadWriteType"].as_str().unwrap_or("All") == "All"
                    && s["ExcludeManagementEventSources"].as_array().is_none_or(Vec::is_empty)
            })
        });
        let advanced = self.selectors["AdvancedEventSelectors"].as_array().is_some_and(|list| {
            list.iter().any(|s| {
                let fields = s["FieldSelectors"].as_array().cloned().unwrap_or_default();
                let management = fields.iter().any(|f| {
                    f["Field"] == "eventCategory"
                        && f["Equals"].as_array().is_some_and(|v| v.iter().any(|x| x == "Management"))
                });
                // Any other condition (readOnly, an excluded event source) narrows what is recorded.
                management && fields.iter().all(|f| f["Field"] == "eventCategory")
            })
        });
        basic || advanced
    }

    fn log_group(&self) -> Option<String> {
        let arn = self.description["CloudWatchLogsLogGroupArn"].as_str()?;
        Some(arn.strip_suffix(":*").unwrap_or(arn).rsplit_once(":log-group:")?.1.to_string())
    }
}

fn json<T: serde::Serialize>(v: cairn_api::Result<T>) -> Result<Value, ApiError> {
    serde_json::to_value(v?).map_err(|e| ApiError::internal(format!("reading a trail's state: {e}")))
}

fn trail_facts(app: &App, ctx: &Ctx) -> Result<Vec<TrailFacts>, ApiError> {
    let described = json(trails::describe(
        app,
        ctx,
        DescribeTrailsRequest { trail_name_list: None, include_shadow_trails: Some(true) },
    ))?;
    let mut out = Vec::new();
    for t in described["trailList"].as_array().cloned().unwrap_or_default() {
        let arn = t["TrailARN"].as_str().unwrap_or_default().to_string();
        let status = json(trails::status(app, ctx, TrailNameRequest { name: Some(arn.clone()) }))?;
        let selectors = json(selectors::get_event_selectors(
            app,
            ctx,
            TrailSelectorRequest { trail_name: Some(arn.clone()), event_data_store: None },
        ))?;
        out.push(TrailFacts { arn, description: t, status, selectors });
    }
    Ok(out)
}

/// Evaluates every control for the caller's account and region.
pub(crate) fn evaluate(app: &App, ctx: &Ctx) -> Result<Vec<Finding>, ApiError> {
    let trails = trail_facts(app, ctx)?;
    let now = app.clock.now_millis();
    let mut out = Vec::new();
    let none = || vec!["no trail".to_string()];

    let complete: Vec<&TrailFacts> =
        trails.iter().filter(|t| t.multi_region() && t.logging() && t.all_management_events()).collect();
    out.push(finding(
        "CloudTrail.1",
        "CloudTrail should be enabled and configured with at least one multi-Region trail that includes read and write management events",
        if complete.is_empty() {
            vec!["no multi-Region trail is logging read and write management events from every source".into()]
        } else {
            Vec::new()
        },
        &format!("{} records read and write management events in every Region", complete.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")),
    ));
    let per_trail = |check: &dyn Fn(&TrailFacts) -> Option<String>| -> Vec<String> {
        if trails.is_empty() {
            return none();
        }
        trails.iter().filter_map(|t| check(t).map(|why| format!("{}: {why}", t.name()))).collect()
    };
    out.push(finding(
        "CloudTrail.2",
        "CloudTrail should have encryption at-rest enabled",
        per_trail(&|t| t.description["KmsKeyId"].is_null().then(|| "log files are not encrypted with SSE-KMS".into())),
        "every trail encrypts its log files with a KMS key",
    ));
    out.push(finding(
        "CloudTrail.3",
        "At least one CloudTrail trail should be enabled",
        if trails.iter().any(TrailFacts::logging) { Vec::new() } else { vec!["no trail is logging".into()] },
        "a trail is logging",
    ));
    out.push(finding(
        "CloudTrail.4",
        "CloudTrail log file validation should be enabled",
        per_trail(&|t| {
            (t.description["LogFileValidationEnabled"].as_bool() != Some(true))
                .then(|| "log file validation is off".into())
        }),
        "every trail writes signed digest files",
    ));
    out.push(finding(
        "CloudTrail.5",
        "CloudTrail trails should be integrated with Amazon CloudWatch Logs",
        per_trail(&|t| {
            if t.log_group().is_none() {
                return Some("does not send events to CloudWatch Logs".into());
            }
            let latest = t.status["LatestCloudWatchLogsDeliveryTime"].as_f64().map(|s| (s * 1000.0) as i64);
            match latest {
                Some(at) if now - at <= LOGS_DELIVERY_WINDOW_MS => None,
                Some(_) => Some("has not delivered to CloudWatch Logs in the last 24 hours".into()),
                None => Some("has never delivered to CloudWatch Logs".into()),
            }
        }),
        "every trail delivered to CloudWatch Logs in the last 24 hours",
    ));
    let buckets: Vec<(String, String)> = {
        let mut b: Vec<(String, String)> = trails
            .iter()
            .filter_map(|t| Some((t.description["S3BucketName"].as_str()?.to_string(), t.name().to_string())))
            .collect();
        b.sort();
        b.dedup_by(|a, b| a.0 == b.0);
        b
    };
    let mut public = Vec::new();
    let mut unknown = Vec::new();
    for (bucket, trail) in &buckets {
        match app.buckets.store().bucket(bucket) {
            Ok(b) => {
                let open = b
                    .policy
                    .as_deref()
                    .and_then(|p| cairn_s3::access::parse_bucket_policy(bucket, p).ok())
                    .is_some_and(|p| cairn_s3::access::is_public(&p));
                if open {
                    public.push(format!("{trail}: bucket {bucket} is public by its policy"));
                }
            }
            Err(_) => unknown.push(bucket.clone()),
        }
    }
    out.push(if trails.is_empty() {
        finding(
            "CloudTrail.6",
            "Ensure the S3 bucket used to store CloudTrail logs is not publicly accessible",
            none(),
            "",
        )
    } else if public.is_empty() && !unknown.is_empty() {
        Finding {
            id: "CloudTrail.6".into(),
            title: "Ensure the S3 bucket used to store CloudTrail logs is not publicly accessible".into(),
            status: "NOT_AVAILABLE",
            reason: format!(
                "bucket(s) {} are on an external S3-compatible server whose policies cairn cannot read",
                unknown.join(", ")
            ),
        }
    } else {
        finding(
            "CloudTrail.6",
            "Ensure the S3 bucket used to store CloudTrail logs is not publicly accessible",
            public,
            "no trail bucket's policy grants public access",
        )
    });
    out.push(finding(
        "CloudTrail.7",
        "Ensure S3 bucket access logging is enabled on the CloudTrail S3 bucket",
        if trails.is_empty() {
            none()
        } else {
            buckets
                .iter()
                .map(|(b, t)| {
                    format!("{t}: bucket {b} has no server access logging (cairn's S3 does not write access logs)")
                })
                .collect()
        },
        "",
    ));

    // The CloudWatch controls need a multi-Region trail logging all management events to a log group.
    let watched: Vec<(&TrailFacts, String)> = complete.iter().filter_map(|t| Some((*t, t.log_group()?))).collect();
    let logs_call = cairn_logs::Call { account: &ctx.account_id, region: &ctx.region, now_ms: now };
    // Each group's metric filters, read once for the 14 controls.
    let watched: Vec<(&TrailFacts, String, Vec<Value>)> = watched
        .into_iter()
        .map(|(trail, group)| {
            let body = json!({"logGroupName": group}).to_string();
            let filters = app
                .logs
                .call(&logs_call, cairn_logs::Operation::DescribeMetricFilters, body.as_bytes())
                .ok()
                .and_then(|f| serde_json::from_slice::<Value>(&f).ok())
                .and_then(|f| f["metricFilters"].as_array().cloned())
                .unwrap_or_default();
            (trail, group, filters)
        })
        .collect();
    for (id, what, pattern) in CIS_FILTERS {
        let title = format!("A log metric filter and alarm should exist for {what}");
        let result = if watched.is_empty() {
            Err("no multi-Region trail logging read and write management events sends them to a CloudWatch Logs log group".to_string())
        } else {
            cis_chain(app, ctx, &watched, pattern)
        };
        out.push(match result {
            Ok(how) => finding(id, &title, Vec::new(), &how),
            Err(why) => finding(id, &title, vec![why], ""),
        });
    }
    Ok(out)
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Finds the chain filter → metric → alarm → SNS topic with a confirmed subscription for one CIS pattern.
fn cis_chain(
    app: &App,
    ctx: &Ctx,
    watched: &[(&TrailFacts, String, Vec<Value>)],
    pattern: &str,
) -> Result<String, String> {
    let now = app.clock.now_millis();
    let cw_call = cairn_cloudwatch::Call { account: &ctx.account_id, region: &ctx.region, now_ms: now };
    let facts = crate::kms::facts(app, ctx, None);
    let sns_call = cairn_sns::Call { facts: &facts, region: &ctx.region, now_ms: now };
    let mut closest = "no log group of a trail has a metric filter with exactly the CIS pattern".to_string();
    for (trail, group, filters) in watched {
        for f in filters {
            if squeeze(f["filterPattern"].as_str().unwrap_or("")) != squeeze(pattern) {
                continue;
            }
            for t in f["metricTransformations"].as_array().cloned().unwrap_or_default() {
                let (Some(metric), Some(namespace)) = (t["metricName"].as_str(), t["metricNamespace"].as_str()) else {
                    continue;
                };
                let input = json!({"MetricName": metric, "Namespace": namespace});
                let alarms = app
                    .cloudwatch
                    .call(&cw_call, cairn_cloudwatch::Operation::DescribeAlarmsForMetric, &input)
                    .map(|(n, _)| n.to_json())
                    .unwrap_or(Value::Null);
                let alarms = alarms["MetricAlarms"].as_array().cloned().unwrap_or_default();
                if alarms.is_empty() {
                    closest = format!(
                        "filter {} in {group} has no alarm on {namespace}/{metric}",
                        f["filterName"].as_str().unwrap_or("")
                    );
                    continue;
                }
                for a in &alarms {
                    for topic in a["AlarmActions"].as_array().cloned().unwrap_or_default() {
                        let Some(topic) = topic.as_str().filter(|t| t.starts_with("arn:aws:sns:")) else { continue };
                        let subs = app
                            .sns
                            .call(
                                &sns_call,
                                cairn_sns::Operation::ListSubscriptionsByTopic,
                                &json!({"TopicArn": topic}),
                            )
                            .ok()
                            .flatten()
                            .map(|n| n.to_json())
                            .unwrap_or(Value::Null);
                        let confirmed = subs["Subscriptions"].as_array().is_some_and(|s| {
                            s.iter().any(|x| x["SubscriptionArn"].as_str().is_some_and(|a| a.starts_with("arn:")))
                        });
                        if confirmed {
                            return Ok(format!(
                                "trail {} → {group} → filter {} → alarm {} → {topic} (confirmed subscriber)",
                                trail.name(),
                                f["filterName"].as_str().unwrap_or(""),
                                a["AlarmName"].as_str().unwrap_or("")
                            ));
                        }
                        closest = format!(
                            "alarm {} notifies {topic}, which has no confirmed subscription",
                            a["AlarmName"].as_str().unwrap_or("")
                        );
                    }
                    if a["AlarmActions"].as_array().is_none_or(Vec::is_empty) {
                        closest = format!("alarm {} has no SNS action", a["AlarmName"].as_str().unwrap_or(""));
                    }
                }
            }
        }
    }
    Err(closest)
}

/// `POST /v1/check`: the controls for the signing credential's account, in the credential scope's region.
pub(crate) async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = respond(&app, req, &request_id).await;
    finish(&request_id, cairn_api::JSON_CONTENT_TYPE, result)
}

async fn respond(app: &Arc<App>, req: Request, request_id: &str) -> Result<Vec<u8>, ApiError> {
    let (parts, body) = req.into_parts();
    let bytes = read_body(&parts, body, 1024).await?;
    let (verified, credential) = authenticate(app, &parts, &bytes, crate::ingest::SERVICE)?;
    let ctx = Ctx {
        account_id: credential.principal.account_id.clone(),
        region: verified.region,
        principal: credential.principal.clone(),
        request_id: request_id.to_string(),
    };
    let app = Arc::clone(app);
    let findings = tokio::task::spawn_blocking(move || evaluate(&app, &ctx).map(|f| (ctx, f)))
        .await
        .map_err(|e| ApiError::internal(format!("posture check failed: {e}")))?;
    let (ctx, findings) = findings?;
    let controls: Vec<Value> = findings
        .iter()
        .map(|f| json!({"ControlId": f.id, "Title": f.title, "Status": f.status, "Reason": f.reason}))
        .collect();
    let answer = json!({"AccountId": ctx.account_id, "Region": ctx.region, "Controls": controls});
    serde_json::to_vec(&answer).map_err(|e| ApiError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The patterns a control demands are exactly those of the reference CIS table (the seeds' Terraform uses them).
    #[test]
    fn cis_patterns_are_the_reference_ones() {
        let tsv = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/cis-metric-filters.tsv"),
        )
        .unwrap();
        let reference: std::collections::BTreeMap<&str, &str> = tsv
            .lines()
            .skip(1)
            .filter_map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                Some((*cols.first()?, *cols.get(2)?))
            })
            .collect();
        for (id, _, pattern) in CIS_FILTERS {
            assert_eq!(Some(&pattern), reference.get(id), "{id}");
            cairn_logs::FilterPattern::parse(pattern).unwrap_or_else(|e| panic!("{id}: {e}"));
        }
    }

    #[test]
    fn whitespace_does_not_count_when_patterns_are_compared() {
        assert_eq!(squeeze("{ $.a = 1 }"), squeeze("{$.a=1}"));
        assert_ne!(squeeze("{ $.a = 1 }"), squeeze("{$.a=2}"));
    }
}
