//! placeholder
use aws_sdk_cloudtrail as _;
use aws_smithy_http_client as _;
