//! Every error cairn can answer on the wire, each with its AWS shape name and HTTP status: the one place where
//! domain and protocol failures become AWS error codes.
//!
//! The modeled exceptions come from the CloudTrail API model; the protocol-level ones (authentication,
//! serialization, validation, unknown operation) are those every AWS JSON service answers.

use serde::Serialize;

macro_rules! error_codes {
    ($($variant:ident => $shape:literal, $status:literal $(, $code:literal)?;)*) => {
        /// An AWS error code: a shape name a client can match on, and its HTTP status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The shape name clients see in `__type` and `x-amzn-ErrorType`.
            pub fn shape_name(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $shape,)*
                }
            }

            pub fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }

            /// The code query-protocol services (and query-compatible ones, in `x-amzn-query-error`) answer: the
            /// model's error code where it has one, else the shape name.
            pub fn query_code(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => error_codes!(@code $shape $(, $code)?),)*
                }
            }
        }
    };
    (@code $shape:literal) => { $shape };
    (@code $shape:literal, $code:literal) => { $code };
}

error_codes! {
    // Protocol and authentication errors of AWS JSON services.
    MissingAuthenticationToken => "MissingAuthenticationTokenException", 403;
    IncompleteSignature => "IncompleteSignatureException", 400;
    InvalidSignature => "InvalidSignatureException", 400;
    UnrecognizedClient => "UnrecognizedClientException", 400;
    UnknownOperation => "UnknownOperationException", 400;
    Serialization => "SerializationException", 400;
    Validation => "ValidationException", 400;
    RequestEntityTooLarge => "RequestEntityTooLargeException", 413;
    InternalFailure => "InternalFailure", 500;
    // The exceptions of the CloudTrail API model.
    AccessDenied => "AccessDeniedException", 400;
    AccountHasOngoingImport => "AccountHasOngoingImportException", 400;
    AccountNotFound => "AccountNotFoundException", 400;
    AccountNotRegistered => "AccountNotRegisteredException", 400;
    AccountRegistered => "AccountRegisteredException", 400;
    CannotDelegateManagementAccount => "CannotDelegateManagementAccountException", 400;
    ChannelARNInvalid => "ChannelARNInvalidException", 400;
    ChannelAlreadyExists => "ChannelAlreadyExistsException", 400;
    ChannelExistsForEDS => "ChannelExistsForEDSException", 400;
    ChannelMaxLimitExceeded => "ChannelMaxLimitExceededException", 400;
    ChannelNotFound => "ChannelNotFoundException", 400;
    CloudTrailARNInvalid => "CloudTrailARNInvalidException", 400;
    CloudTrailAccessNotEnabled => "CloudTrailAccessNotEnabledException", 400;
    CloudTrailInvalidClientTokenId => "CloudTrailInvalidClientTokenIdException", 400;
    CloudWatchLogsDeliveryUnavailable => "CloudWatchLogsDeliveryUnavailableException", 400;
    ConcurrentModification => "ConcurrentModificationException", 400;
    Conflict => "ConflictException", 400;
    DelegatedAdminAccountLimitExceeded => "DelegatedAdminAccountLimitExceededException", 400;
    EventDataStoreARNInvalid => "EventDataStoreARNInvalidException", 400;
    EventDataStoreAlreadyExists => "EventDataStoreAlreadyExistsException", 400;
    EventDataStoreFederationEnabled => "EventDataStoreFederationEnabledException", 400;
    EventDataStoreHasOngoingImport => "EventDataStoreHasOngoingImportException", 400;
    EventDataStoreMaxLimitExceeded => "EventDataStoreMaxLimitExceededException", 400;
    EventDataStoreNotFound => "EventDataStoreNotFoundException", 400;
    EventDataStoreTerminationProtected => "EventDataStoreTerminationProtectedException", 400;
    GenerateResponse => "GenerateResponseException", 400;
    ImportNotFound => "ImportNotFoundException", 400;
    InactiveEventDataStore => "InactiveEventDataStoreException", 400;
    InactiveQuery => "InactiveQueryException", 400;
    InsightNotEnabled => "InsightNotEnabledException", 400;
    InsufficientDependencyServiceAccessPermission => "InsufficientDependencyServiceAccessPermissionException", 400;
    InsufficientEncryptionPolicy => "InsufficientEncryptionPolicyException", 400;
    InsufficientIAMAccessPermission => "InsufficientIAMAccessPermissionException", 400;
    InsufficientS3BucketPolicy => "InsufficientS3BucketPolicyException", 400;
    InsufficientSnsTopicPolicy => "InsufficientSnsTopicPolicyException", 400;
    InvalidCloudWatchLogsLogGroupArn => "InvalidCloudWatchLogsLogGroupArnException", 400;
    InvalidCloudWatchLogsRoleArn => "InvalidCloudWatchLogsRoleArnException", 400;
    InvalidDateRange => "InvalidDateRangeException", 400;
    InvalidEventCategory => "InvalidEventCategoryException", 400;
    InvalidEventDataStoreCategory => "InvalidEventDataStoreCategoryException", 400;
    InvalidEventDataStoreStatus => "InvalidEventDataStoreStatusException", 400;
    InvalidEventSelectors => "InvalidEventSelectorsException", 400;
    InvalidHomeRegion => "InvalidHomeRegionException", 400;
    InvalidImportSource => "InvalidImportSourceException", 400;
    InvalidInsightSelectors => "InvalidInsightSelectorsException", 400;
    InvalidKmsKeyId => "InvalidKmsKeyIdException", 400;
    InvalidLookupAttributes => "InvalidLookupAttributesException", 400;
    InvalidMaxResults => "InvalidMaxResultsException", 400;
    InvalidNextToken => "InvalidNextTokenException", 400;
    InvalidParameterCombination => "InvalidParameterCombinationException", 400, "InvalidParameterCombination";
    InvalidParameter => "InvalidParameterException", 400, "InvalidParameter";
    InvalidQueryStatement => "InvalidQueryStatementException", 400;
    InvalidQueryStatus => "InvalidQueryStatusException", 400;
    InvalidS3BucketName => "InvalidS3BucketNameException", 400;
    InvalidS3Prefix => "InvalidS3PrefixException", 400;
    InvalidSnsTopicName => "InvalidSnsTopicNameException", 400;
    InvalidSource => "InvalidSourceException", 400;
    InvalidTagParameter => "InvalidTagParameterException", 400;
    InvalidTimeRange => "InvalidTimeRangeException", 400;
    InvalidToken => "InvalidTokenException", 400;
    InvalidTrailName => "InvalidTrailNameException", 400;
    Kms => "KmsException", 400;
    KmsKeyDisabled => "KmsKeyDisabledException", 400;
    KmsKeyNotFound => "KmsKeyNotFoundException", 400;
    MaxConcurrentQueries => "MaxConcurrentQueriesException", 400;
    MaximumNumberOfTrailsExceeded => "MaximumNumberOfTrailsExceededException", 400;
    NoManagementAccountSLRExists => "NoManagementAccountSLRExistsException", 400;
    NotOrganizationManagementAccount => "NotOrganizationManagementAccountException", 400;
    NotOrganizationMasterAccount => "NotOrganizationMasterAccountException", 400;
    OperationNotPermitted => "OperationNotPermittedException", 400;
    OrganizationNotInAllFeaturesMode => "OrganizationNotInAllFeaturesModeException", 400;
    OrganizationsNotInUse => "OrganizationsNotInUseException", 400;
    QueryIdNotFound => "QueryIdNotFoundException", 400;
    ResourceARNNotValid => "ResourceARNNotValidException", 400;
    ResourceNotFound => "ResourceNotFoundException", 400;
    ResourcePolicyNotFound => "ResourcePolicyNotFoundException", 400;
    ResourcePolicyNotValid => "ResourcePolicyNotValidException", 400;
    ResourceTypeNotSupported => "ResourceTypeNotSupportedException", 400;
    S3BucketDoesNotExist => "S3BucketDoesNotExistException", 400;
    ServiceQuotaExceeded => "ServiceQuotaExceededException", 400;
    TagsLimitExceeded => "TagsLimitExceededException", 400;
    Throttling => "ThrottlingException", 400;
    TrailAlreadyExists => "TrailAlreadyExistsException", 400;
    TrailNotFound => "TrailNotFoundException", 400;
    TrailNotProvided => "TrailNotProvidedException", 400;
    UnsupportedOperation => "UnsupportedOperationException", 400;
    // The exceptions of the KMS API model that cairn's KMS answers (AccessDenied, Validation and
    // UnsupportedOperation are shared with CloudTrail).
    KmsAlreadyExists => "AlreadyExistsException", 400;
    KmsDisabled => "DisabledException", 400;
    KmsDryRunOperation => "DryRunOperationException", 400;
    KmsIncorrectKey => "IncorrectKeyException", 400;
    KmsInternal => "KMSInternalException", 500;
    KmsInvalidAliasName => "InvalidAliasNameException", 400;
    KmsInvalidArn => "InvalidArnException", 400;
    KmsInvalidCiphertext => "InvalidCiphertextException", 400;
    KmsInvalidKeyUsage => "InvalidKeyUsageException", 400;
    KmsInvalidMarker => "InvalidMarkerException", 400;
    KmsInvalidState => "KMSInvalidStateException", 400;
    LimitExceeded => "LimitExceededException", 400;
    KmsMalformedPolicyDocument => "MalformedPolicyDocumentException", 400;
    KmsNotFound => "NotFoundException", 400;
    KmsTag => "TagException", 400;
    // The exceptions of the CloudWatch Logs model not shared with CloudTrail or KMS (InvalidParameterException,
    // ResourceNotFoundException and LimitExceededException are).
    LogsResourceAlreadyExists => "ResourceAlreadyExistsException", 400;
    LogsOperationAborted => "OperationAbortedException", 400;
    LogsTooManyTags => "TooManyTagsException", 400;
    // The query protocol's own errors, and the exceptions of the CloudWatch model (query-compatible: the third
    // column is the code its clients match) not shared with the services above.
    QueryInvalidAction => "InvalidAction", 400;
    QueryMissingAction => "MissingAction", 400;
    QueryValidation => "ValidationError", 400;
    CwInvalidParameterValue => "InvalidParameterValueException", 400, "InvalidParameterValue";
    CwMissingParameter => "MissingRequiredParameterException", 400, "MissingParameter";
    CwInternalServiceFault => "InternalServiceFault", 500, "InternalServiceError";
    CwInvalidNextToken => "InvalidNextToken", 400;
    CwLimitExceeded => "LimitExceededFault", 400, "LimitExceeded";
    CwResourceNotFound => "ResourceNotFound", 404;
    CwInvalidFormat => "InvalidFormatFault", 400, "InvalidFormat";
    // The exceptions of the SNS model (query protocol) not shared with the services above.
    SnsAuthorizationError => "AuthorizationErrorException", 403, "AuthorizationError";
    SnsNotFound => "NotFoundException", 404, "NotFound";
    SnsParameterValueInvalid => "InvalidParameterValueException", 400, "ParameterValueInvalid";
    SnsInternalError => "InternalErrorException", 500, "InternalError";
    SnsTopicLimitExceeded => "TopicLimitExceededException", 403, "TopicLimitExceeded";
    SnsSubscriptionLimitExceeded => "SubscriptionLimitExceededException", 403, "SubscriptionLimitExceeded";
    SnsTagLimitExceeded => "TagLimitExceededException", 400, "TagLimitExceeded";
    SnsInvalidState => "InvalidStateException", 400, "InvalidState";
    SnsResourceNotFound => "ResourceNotFoundException", 404, "ResourceNotFound";
    // The exceptions of the CloudTrail Data API model (PutAuditEvents), whose names do not end in "Exception".
    DataChannelInsufficientPermission => "ChannelInsufficientPermission", 400;
    DataChannelNotFound => "ChannelNotFound", 400;
    DataInvalidChannelArn => "InvalidChannelARN", 400;
    DataChannelUnsupportedSchema => "ChannelUnsupportedSchema", 400;
    DataDuplicatedAuditEventId => "DuplicatedAuditEventId", 400;
}

/// An error answered to the client: a code and a message saying what was wrong, with which value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into() }
    }

    /// An invariant broke inside cairn; the client sees a generic internal failure.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InternalFailure, message)
    }

    /// The JSON body AWS JSON protocols answer with.
    pub fn body(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(rename = "__type")]
            ty: &'a str,
            message: &'a str,
        }
        serde_json::to_vec(&Body { ty: self.code.shape_name(), message: &self.message })
            .expect("serializing two strings cannot fail")
    }
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl From<cairn_model::Error> for ApiError {
    fn from(e: cairn_model::Error) -> ApiError {
        use cairn_model::Error as M;
        let code = match &e {
            M::InvalidTrailName(_) => ErrorCode::InvalidTrailName,
            M::InvalidS3BucketName(_) => ErrorCode::InvalidS3BucketName,
            M::InvalidS3Prefix(_) => ErrorCode::InvalidS3Prefix,
            M::InvalidSnsTopicName(_) => ErrorCode::InvalidSnsTopicName,
            M::InvalidKmsKeyId(_) => ErrorCode::InvalidKmsKeyId,
            M::InvalidCloudWatchLogsLogGroupArn(_) => ErrorCode::InvalidCloudWatchLogsLogGroupArn,
            M::InvalidCloudWatchLogsRoleArn(_) => ErrorCode::InvalidCloudWatchLogsRoleArn,
            M::InvalidArn(_) => ErrorCode::CloudTrailARNInvalid,
            M::InvalidEventSelectors(_) => ErrorCode::InvalidEventSelectors,
            M::InvalidInsightSelectors(_) => ErrorCode::InvalidInsightSelectors,
            M::InvalidTagParameter(_) => ErrorCode::InvalidTagParameter,
            M::TagsLimitExceeded(_) => ErrorCode::TagsLimitExceeded,
            M::InvalidParameter(_) => ErrorCode::InvalidParameter,
            M::InvalidParameterCombination(_) => ErrorCode::InvalidParameterCombination,
            M::Validation(_) => ErrorCode::Validation,
        };
        ApiError::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_names_are_unique_and_well_formed() {
        // CloudWatch and SNS each have an InvalidParameterValueException, KMS and SNS a NotFoundException,
        // CloudTrail and SNS a ResourceNotFoundException, with different codes.
        let mut pairs: Vec<(&str, &str)> = ErrorCode::ALL.iter().map(|c| (c.shape_name(), c.query_code())).collect();
        assert_eq!(pairs.len(), 86 + 9 + 15 + 5 + 3 + 10 + 9);
        pairs.sort_unstable();
        pairs.dedup();
        assert_eq!(pairs.len(), 86 + 9 + 15 + 5 + 3 + 10 + 9, "two errors share a shape name and code");
        let mut names: Vec<&str> = pairs.iter().map(|p| p.0).collect();
        names.dedup();
        assert_eq!(names.len(), pairs.len() - 3);
        let data =
            ["ChannelInsufficientPermission", "ChannelNotFound", "InvalidChannelARN", "ChannelUnsupportedSchema"];
        let query = ["InvalidAction", "MissingAction", "ValidationError", "InternalServiceFault", "InvalidNextToken"];
        let cloudwatch = ["LimitExceededFault", "ResourceNotFound", "InvalidFormatFault"];
        assert!(names.iter().all(|n| n.ends_with("Exception")
            || query.contains(n)
            || cloudwatch.contains(n)
            || *n == "InternalFailure"
            || *n == "DuplicatedAuditEventId"
            || data.contains(n)));
    }

    #[test]
    fn body_is_aws_json_error() {
        let e = ApiError::new(ErrorCode::TrailNotFound, "trail x not found");
        let v: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(v, serde_json::json!({"__type": "TrailNotFoundException", "message": "trail x not found"}));
    }
}
