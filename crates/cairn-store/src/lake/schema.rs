//! The CloudTrail Lake table schemas and the conversion of event records into them.
//!
//! Schemas are written the way AWS documents them (`struct<type:string,...>`, `map<string,string>`,
//! `array<...>`) and parsed into Arrow types, so each column reads as on AWS's page. Column and member names are
//! lower case; a record's members are matched to them without regard to case (`userIdentity.sessionContext` fills
//! `useridentity.sessioncontext`). A `map<string,string>` column holds an object's members with string values as
//! they are and any other value as its JSON text, as Lake shows `requestparameters`. Values of the wrong shape read as
//! null rather than failing the record: real archives are messy.

use std::sync::{Arc, OnceLock};

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// What a store holds, which decides its table's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableKind {
    /// CloudTrail management, data and network activity events (and Insights events, as CloudTrail's schema shows
    /// them).
    CloudTrail,
    /// Events from outside AWS, sent to a channel with PutAuditEvents.
    ActivityAuditLog,
}

const USER_IDENTITY: &str = "struct<type:string,principalid:string,arn:string,accountid:string,accesskeyid:string,\
username:string,sessioncontext:struct<attributes:struct<creationdate:timestamp,mfaauthenticated:string>,\
sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,\
webidfederationdata:struct<federatedprovider:string,attributes:map<string,string>>,sourceidentity:string,\
ec2roledelivery:string,ec2issuedinvpc:string>,onbehalfof:struct<userid:string,identitystorearn:string>,\
inscopeof:struct<sourcearn:string,sourceaccount:string,issuertype:string,credentialsissuedto:string>,\
invokedby:string,identityprovider:string>";

/// CloudTrail Lake's columns for CloudTrail events, in AWS's order. (AWS's page spells the last member of
/// `inscopeof` "credentiaisissuedto"; the record member is `credentialsIssuedTo`, and that is the name used here.)
const CLOUDTRAIL_COLUMNS: &[(&str, &str)] = &[
    ("eventversion", "string"),
    ("useridentity", USER_IDENTITY),
    ("eventtime", "timestamp"),
    ("eventsource", "string"),
    ("eventname", "string"),
    ("awsregion", "string"),
    ("sourceipaddress", "string"),
    ("useragent", "string"),
    ("errorcode", "string"),
    ("errormessage", "string"),
    ("requestparameters", "map<string,string>"),
    ("responseelements", "map<string,string>"),
    ("additionaleventdata", "map<string,string>"),
    ("requestid", "string"),
    ("eventid", "string"),
    ("readonly", "boolean"),
    ("resources", "array<struct<accountid:string,type:string,arn:string,arnprefix:string>>"),
    ("eventtype", "string"),
    ("apiversion", "string"),
    ("managementevent", "boolean"),
    ("recipientaccountid", "string"),
    ("sharedeventid", "string"),
    ("annotation", "string"),
    ("vpcendpointid", "string"),
    ("vpcendpointaccountid", "string"),
    ("serviceeventdetails", "map<string,string>"),
    ("addendum", "map<string,string>"),
    ("edgedevicedetails", "map<string,string>"),
    ("insightdetails", "map<string,string>"),
    ("eventcategory", "string"),
    ("tlsdetails", "struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>"),
    ("sessioncredentialfromconsole", "string"),
    ("eventjson", "string"),
    ("eventjsonchecksum", "string"),
];

/// Lake's columns for events from outside AWS (`eventdata` is what the producer sent; AWS's page spells its
/// `errormessage` member "errormssage").
const ACTIVITY_COLUMNS: &[(&str, &str)] = &[
    ("eventversion", "string"),
    ("eventcategory", "string"),
    ("eventtype", "string"),
    ("eventid", "string"),
    ("eventtime", "timestamp"),
    ("awsregion", "string"),
    ("recipientaccountid", "string"),
    ("addendum", "struct<reason:string,updatedfields:string,originaluid:string,originaleventid:string>"),
    ("metadata", "struct<ingestiontime:string,channelarn:string>"),
    (
        "eventdata",
        "struct<version:string,useridentity:struct<type:string,principalid:string,details:map<string,string>>,\
useragent:string,eventsource:string,eventname:string,eventtime:string,uid:string,\
requestparameters:map<string,string>,responseelements:map<string,string>,errorcode:string,errormessage:string,\
sourceipaddress:string,recipientaccountid:string,additionaleventdata:map<string,string>>",
    ),
];

impl TableKind {
    /// The table schema of this kind of store (parsed once; every record conversion asks for it).
    pub fn schema(self) -> SchemaRef {
        static CLOUDTRAIL: OnceLock<SchemaRef> = OnceLock::new();
        static ACTIVITY: OnceLock<SchemaRef> = OnceLock::new();
        let (cell, columns) = match self {
            TableKind::CloudTrail => (&CLOUDTRAIL, CLOUDTRAIL_COLUMNS),
            TableKind::ActivityAuditLog => (&ACTIVITY, ACTIVITY_COLUMNS),
        };
        Arc::clone(cell.get_or_init(|| {
            let fields: Vec<Field> = columns
                .iter()
                .map(|(name, ty)| Field::new(*name, parse_type(ty).expect("schemas above are well formed"), true))
                .collect();
            Arc::new(Schema::new(fields))
        }))
    }
}

/// The Lake (Hive-style) name of an Arrow type of a Lake schema: the inverse of [`parse_type`].
pub fn type_name(ty: &DataType) -> String {
    match ty {
        DataType::Utf8 => "string".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Timestamp(..) => "timestamp".into(),
        DataType::Float64 => "double".into(),
        DataType::Int32 => "integer".into(),
        DataType::List(item) => format!("array<{}>", type_name(item.data_type())),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("map<{},{}>", type_name(kv[0].data_type()), type_name(kv[1].data_type()))
            }
            other => other.to_string(),
        },
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields.iter().map(|f| format!("{}:{}", f.name(), type_name(f.data_type()))).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// The Arrow type of a Lake (Hive-style) type name.
pub fn parse_type(text: &str) -> Option<DataType> {
    let (ty, rest) = parse_type_prefix(text.trim())?;
    rest.trim().is_empty().then_some(ty)
}

fn parse_type_prefix(s: &str) -> Option<(DataType, &str)> {
    let word_end = s.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(s.len());
    let (word, rest) = s.split_at(word_end);
    match word {
        "string" => Some((DataType::Utf8, rest)),
        "boolean" => Some((DataType::Boolean, rest)),
        "timestamp" => Some((DataType::Timestamp(TimeUnit::Millisecond, None), rest)),
        "double" => Some((DataType::Float64, rest)),
        "integer" | "int" => Some((DataType::Int32, rest)),
        "array" => {
            let (item, rest) = parse_type_prefix(rest.strip_prefix('<')?)?;
            Some((DataType::List(Arc::new(Field::new("item", item, true))), rest.strip_prefix('>')?))
        }
        "map" => {
            let (key, rest) = parse_type_prefix(rest.strip_prefix('<')?)?;
            let (value, rest) = parse_type_prefix(rest.strip_prefix(',')?)?;
            Some((map_type(key, value), rest.strip_prefix('>')?))
        }
        "struct" => {
            let mut rest = rest.strip_prefix('<')?;
            let mut fields = Vec::new();
            loop {
                let (name, after) = rest.split_once(':')?;
                let (ty, after) = parse_type_prefix(after)?;
                fields.push(Field::new(name.trim().to_ascii_lowercase(), ty, true));
                match after.as_bytes().first()? {
                    b',' => rest = &after[1..],
                    b'>' => return Some((DataType::Struct(Fields::from(fields)), &after[1..])),
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

fn map_type(key: DataType, value: DataType) -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![Field::new("key", key, false), Field::new("value", value, true)])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

/// Converts records (JSON objects) into one batch of `schema`, in one pass over each record ([`super::rows`]).
/// Records that are not JSON objects are skipped (the caller has already checked them).
pub fn records_batch(schema: &SchemaRef, records: &[&[u8]]) -> Result<RecordBatch> {
    let texts: Vec<&str> = records.iter().filter_map(|r| std::str::from_utf8(r).ok()).collect();
    text_records_batch(schema, &texts)
}

/// [`records_batch`] for records already known to be text.
pub fn text_records_batch(schema: &SchemaRef, records: &[&str]) -> Result<RecordBatch> {
    let objects: Vec<&str> = records.iter().copied().filter(|r| r.trim_ascii_start().starts_with('{')).collect();
    match rows_batch(schema, &objects) {
        Ok(batch) => Ok(batch),
        // A record that is not JSON stops the pass part way: the batch is made again without such records.
        Err(_) => {
            let valid: Vec<&str> =
                objects.into_iter().filter(|r| serde_json::from_str::<serde::de::IgnoredAny>(r).is_ok()).collect();
            rows_batch(schema, &valid).map_err(|e| Error::Arrow(arrow_schema::ArrowError::JsonError(e.to_string())))
        }
    }
}

/// The columns computed from a record's text rather than read from its members.
fn from_text(name: &str) -> bool {
    matches!(name, "eventjson" | "eventjsonchecksum")
}

fn rows_batch(schema: &SchemaRef, records: &[&str]) -> serde_json::Result<RecordBatch> {
    let members: Fields = schema.fields().iter().filter(|f| !from_text(f.name())).cloned().collect();
    let mut root = super::rows::StructColumn::new(members, records.len());
    for r in records {
        root.read_record(r)?;
    }
    let mut read = root.finish_children().into_iter();
    let columns = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "eventjson" => {
                let mut b = StringBuilder::with_capacity(records.len(), records.iter().map(|r| r.len()).sum());
                for r in records {
                    b.append_value(r);
                }
                Arc::new(b.finish()) as ArrayRef
            }
            "eventjsonchecksum" => {
                let mut b = StringBuilder::with_capacity(records.len(), records.len() * 64);
                for r in records {
                    b.append_value(checksum(r));
                }
                Arc::new(b.finish())
            }
            _ => read.next().expect("one array per member column"),
        })
        .collect();
    Ok(RecordBatch::try_new(Arc::clone(schema), columns).expect("columns built for this schema"))
}

/// `eventjsonchecksum`: the SHA-256 of the event's JSON, hex.
fn checksum(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::Array;

    use super::*;

    #[test]
    fn schemas_parse_with_aws_column_names() {
        let schema = TableKind::CloudTrail.schema();
        assert_eq!(schema.fields().len(), 34);
        assert_eq!(schema.field(0).name(), "eventversion");
        assert!(matches!(schema.field_with_name("eventtime").unwrap().data_type(), DataType::Timestamp(..)));
        let DataType::Struct(identity) = schema.field_with_name("useridentity").unwrap().data_type() else {
            panic!("useridentity is a struct")
        };
        assert_eq!(identity.len(), 11);
        assert!(matches!(schema.field_with_name("requestparameters").unwrap().data_type(), DataType::Map(..)));
        assert_eq!(TableKind::ActivityAuditLog.schema().fields().len(), 10);
        assert_eq!(parse_type("map<string,string"), None);
        for (_, ty) in CLOUDTRAIL_COLUMNS.iter().chain(ACTIVITY_COLUMNS) {
            assert_eq!(type_name(&parse_type(ty).unwrap()), ty.replace(' ', ""));
        }
        assert_eq!(parse_type("struct<a:string>x"), None);
    }

    #[test]
    fn records_convert_case_insensitively_and_leniently() {
        let schema = TableKind::CloudTrail.schema();
        let good = br#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"alice",
            "sessionContext":{"attributes":{"creationDate":"2023-01-01T00:00:00Z","mfaAuthenticated":"true"}}},
            "eventTime":"2023-01-22T10:11:12Z","eventSource":"s3.amazonaws.com","eventName":"CreateBucket",
            "requestParameters":{"bucketName":"b","Host":["x"],"n":null},"readOnly":false,
            "resources":[{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::b"}],"recipientAccountId":"111122223333"}"#;
        let odd = br#"{"eventTime":"not a time","resources":"x","readOnly":"true","requestParameters":"str"}"#;
        let batch = records_batch(&schema, &[good, odd, b"[1]"]).unwrap();
        assert_eq!(batch.num_rows(), 2);
        let col = |name: &str| batch.column(schema.index_of(name).unwrap()).clone();
        let identity = col("useridentity");
        let identity = identity.as_struct();
        assert_eq!(identity.column_by_name("username").unwrap().as_string::<i32>().value(0), "alice");
        assert!(identity.is_null(1));
        assert_eq!(
            col("eventtime").as_primitive::<arrow_array::types::TimestampMillisecondType>().value(0),
            1674382272000
        );
        assert!(col("eventtime").is_null(1));
        let params = col("requestparameters");
        let params = params.as_map();
        assert_eq!(params.value(0).column(1).as_string::<i32>().value(1), "[\"x\"]");
        assert!(params.value(0).column(1).is_null(2));
        assert!(params.is_null(1));
        assert!(!col("readonly").as_boolean().value(0));
        assert!(col("readonly").as_boolean().value(1));
        let resources = col("resources");
        assert_eq!(
            resources.as_list::<i32>().value(0).as_struct().column_by_name("arn").unwrap().as_string::<i32>().value(0),
            "arn:aws:s3:::b"
        );
        assert!(resources.is_null(1));
        assert_eq!(col("eventjsonchecksum").as_string::<i32>().value(0).len(), 64);
    }

    #[test]
    fn one_pass_conversion_keeps_the_rules_for_odd_records() {
        let schema = TableKind::CloudTrail.schema();
        let odd = br#"{"eventName":"First","EVENTNAME":"Second","eventVersion":1.5,"useridentity":"not an object",
            "requestParameters":{"nested": {"a": [1, 2], "b": "x y"}, "n": 1e2, "s": "t\u00e9"},"resources":{"no":1},
            "tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":null},"readOnly":1,"eventTime":"2026-01-01T00:00:00Z"}"#;
        let broken: &[u8] = br#"{"eventName":"Broken","requestParameters":{"a":"#;
        let fine: &[u8] = br#"{"eventName":"Fine"}"#;
        let batch = records_batch(&schema, &[odd, broken, fine]).unwrap();
        assert_eq!(batch.num_rows(), 2, "the record that is not JSON is left out, the others kept");
        let col = |name: &str| batch.column(schema.index_of(name).unwrap()).clone();
        assert_eq!(col("eventname").as_string::<i32>().value(0), "First");
        assert_eq!(col("eventname").as_string::<i32>().value(1), "Fine");
        assert_eq!(col("eventversion").as_string::<i32>().value(0), "1.5");
        assert!(col("useridentity").is_null(0) && col("resources").is_null(0) && col("readonly").is_null(0));
        let params = col("requestparameters");
        let entries = params.as_map().value(0);
        let values = entries.column(1).as_string::<i32>();
        assert_eq!(values.value(0), r#"{"a":[1,2],"b":"x y"}"#, "JSON text of a nested value is compact");
        assert_eq!(values.value(1), "100.0");
        assert_eq!(values.value(2), "t\u{e9}");
        let tls = col("tlsdetails");
        let tls = tls.as_struct();
        assert_eq!(tls.column_by_name("tlsversion").unwrap().as_string::<i32>().value(0), "TLSv1.3");
        assert!(tls.column_by_name("ciphersuite").unwrap().is_null(0));
        assert!(tls.is_null(1));
    }
}
