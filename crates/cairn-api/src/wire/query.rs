//! The AWS query protocol: a form-encoded request (`Action`, `Version` and members named by path, lists as
//! `Name.member.N`, maps as `Name.entry.N.key`/`.value`) decodes to a JSON value; answers and errors are XML in the
//! service's namespace.

use serde_json::{Map, Value};

use super::{iso8601, Node};

/// The content type of query protocol answers.
pub const CONTENT_TYPE: &str = "text/xml";

/// Decodes `%XX` escapes and `+` (a space) of a form or query string component; a malformed escape stays as it is.
pub fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| Some(hex(bytes[i + 1])? * 16 + hex(bytes[i + 2])?))
            .flatten();
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
                continue;
            }
            (None, b'+') => out.push(b' '),
            (None, b) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded name-value pairs of a form body or query string.
pub fn pairs(form: &str) -> impl Iterator<Item = (String, String)> + '_ {
    form.split('&').filter(|kv| !kv.is_empty()).map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (form_decode(k), form_decode(v))
    })
}

/// A form body as a JSON value: `Action` and `Version` stay members; lists become arrays in member order, maps
/// objects.
pub fn decode(form: &str) -> Value {
    let mut root = Map::new();
    for (key, value) in pairs(form) {
        let segments: Vec<&str> = key.split('.').collect();
        insert(&mut root, &segments, value);
    }
    shape(Value::Object(root))
}

fn insert(node: &mut Map<String, Value>, path: &[&str], value: String) {
    let Some((first, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        node.insert(first.to_string(), Value::String(value));
        return;
    }
    let child = node.entry(first.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        *child = Value::Object(Map::new());
    }
    if let Value::Object(m) = child {
        insert(m, rest, value);
    }
}

/// Turns `{member: {"1": a, "2": b}}` into `[a, b]` and `{entry: {"1": {key, value}}}` into `{key: value}`.
fn shape(v: Value) -> Value {
    let Value::Object(m) = v else { return v };
    let numbered = |inner: &Map<String, Value>| inner.keys().all(|k| k.parse::<u32>().is_ok());
    if m.len() == 1 {
        if let Some(Value::Object(inner)) = m.get("member").filter(|v| v.as_object().is_some_and(numbered)) {
            let mut items: Vec<(u32, Value)> =
                inner.iter().map(|(k, v)| (k.parse().unwrap_or(0), shape(v.clone()))).collect();
            items.sort_by_key(|(i, _)| *i);
            return Value::Array(items.into_iter().map(|(_, v)| v).collect());
        }
        if let Some(Value::Object(inner)) = m.get("entry").filter(|v| v.as_object().is_some_and(numbered)) {
            let mut entries: Vec<(u32, &Value)> = inner.iter().map(|(k, v)| (k.parse().unwrap_or(0), v)).collect();
            entries.sort_by_key(|(i, _)| *i);
            return Value::Object(
                entries
                    .into_iter()
                    .filter_map(|(_, e)| {
                        // Most maps name their parts `key` and `value`; SNS's message attributes `Name` and `Value`.
                        let key = e["key"].as_str().or(e["Name"].as_str())?.to_string();
                        let value = if e["value"].is_null() { &e["Value"] } else { &e["value"] };
                        Some((key, shape(value.clone())))
                    })
                    .collect(),
            );
        }
    }
    Value::Object(m.into_iter().map(|(k, v)| (k, shape(v))).collect())
}

/// An operation's answer: `<{Action}Response><{Action}Result>…</{Action}Result><ResponseMetadata>…`; an operation
/// without output has no result element.
pub fn response(action: &str, namespace: &str, result: Option<&Node>, request_id: &str) -> Vec<u8> {
    let mut out = format!("<{action}Response xmlns=\"{namespace}\">");
    if let Some(r) = result {
        out.push_str(&format!("<{action}Result>"));
        members(&mut out, r);
        out.push_str(&format!("</{action}Result>"));
    }
    out.push_str(&format!(
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        escape(request_id)
    ));
    out.into_bytes()
}

/// An error answer in the query protocol's shape.
pub fn error(namespace: &str, code: &str, message: &str, sender: bool, request_id: &str) -> Vec<u8> {
    format!(
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error>\
         <RequestId>{}</RequestId></ErrorResponse>",
        if sender { "Sender" } else { "Receiver" },
        escape(code),
        escape(message),
        escape(request_id)
    )
    .into_bytes()
}

fn members(out: &mut String, node: &Node) {
    match node {
        Node::Struct(m) => {
            for (k, v) in m.iter().filter(|(_, v)| *v != Node::Null) {
                element(out, k, v);
            }
        }
        other => out.push_str(&scalar(other)),
    }
}

fn element(out: &mut String, name: &str, node: &Node) {
    out.push_str(&format!("<{name}>"));
    match node {
        Node::List(items) => {
            for i in items {
                element(out, "member", i);
            }
        }
        Node::Map(entries) => {
            for (k, v) in entries {
                out.push_str(&format!("<entry><key>{}</key>", escape(k)));
                element(out, "value", v);
                out.push_str("</entry>");
            }
        }
        other => members(out, other),
    }
    out.push_str(&format!("</{name}>"));
}

fn scalar(node: &Node) -> String {
    match node {
        Node::Null | Node::List(_) | Node::Struct(_) | Node::Map(_) => String::new(),
        Node::Bool(b) => b.to_string(),
        Node::Int(i) => i.to_string(),
        Node::Float(f) => format!("{f:?}"),
        Node::Str(s) => escape(s),
        Node::Time(ms) => iso8601(*ms),
    }
}

/// Escapes text for an XML element.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms_decode_to_lists_maps_and_members() {
        let v = decode(
            "Action=PutMetricData&Version=2010-08-01&Namespace=App%2FX&MetricData.member.2.MetricName=B\
             &MetricData.member.1.MetricName=A&MetricData.member.1.Dimensions.member.1.Name=d\
             &MetricData.member.1.Value=1.5&Attributes.entry.1.key=Policy&Attributes.entry.1.value=%7B%7D&Empty=&S=a+b\
             &MessageAttributes.entry.1.Name=n&MessageAttributes.entry.1.Value.DataType=String",
        );
        assert_eq!(
            v,
            json!({
                "Action": "PutMetricData", "Version": "2010-08-01", "Namespace": "App/X",
                "MetricData": [{"MetricName": "A", "Dimensions": [{"Name": "d"}], "Value": "1.5"}, {"MetricName": "B"}],
                "Attributes": {"Policy": "{}"}, "Empty": "", "S": "a b",
                "MessageAttributes": {"n": {"DataType": "String"}}
            })
        );
    }

    #[test]
    fn answers_and_errors_are_xml() {
        let r = Node::object()
            .with("MetricAlarms", Node::list([Node::object().with("AlarmName", "a<b").with("At", Node::Time(0))]))
            .with("Attributes", Node::Map(vec![("k".into(), Node::str("v"))]))
            .with("Threshold", 1.0);
        let xml = String::from_utf8(response("DescribeAlarms", "urn:x", Some(&r), "rid")).unwrap();
        assert_eq!(
            xml,
            "<DescribeAlarmsResponse xmlns=\"urn:x\"><DescribeAlarmsResult><MetricAlarms><member><AlarmName>a&lt;b</AlarmName>\
             <At>1970-01-01T00:00:00.000Z</At></member></MetricAlarms><Attributes><entry><key>k</key><value>v</value></entry>\
             </Attributes><Threshold>1.0</Threshold></DescribeAlarmsResult><ResponseMetadata><RequestId>rid</RequestId>\
             </ResponseMetadata></DescribeAlarmsResponse>"
        );
        let none = String::from_utf8(response("DeleteAlarms", "urn:x", None, "rid")).unwrap();
        assert!(none.starts_with("<DeleteAlarmsResponse xmlns=\"urn:x\"><ResponseMetadata>"));
        let e = String::from_utf8(error("urn:x", "ResourceNotFound", "no & such", true, "rid")).unwrap();
        assert!(e.contains("<Type>Sender</Type><Code>ResourceNotFound</Code><Message>no &amp; such</Message>"));
    }
}
