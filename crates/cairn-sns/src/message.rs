//! The messages SNS sends to HTTP endpoints: the JSON document of a notification or a (un)subscribe confirmation,
//! signed with SignatureVersion 2 (SHA256withRSA over SNS's canonical string of the message's fields), and the
//! self-signed certificate cairn serves at SigningCertURL to verify it with.

use base64::Engine;
use serde_json::{json, Map, Value};

use cairn_integrity::SigningKey;

/// A message's fields before signing.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsigned<'a> {
    pub kind: &'a str,
    pub message_id: &'a str,
    pub topic_arn: &'a str,
    pub subject: Option<&'a str>,
    pub message: &'a str,
    pub timestamp: &'a str,
    /// Confirmations: the token and the URL that confirms with it.
    pub token: Option<&'a str>,
    pub subscribe_url: Option<&'a str>,
    /// Notifications: the URL that unsubscribes, and the message attributes.
    pub unsubscribe_url: Option<&'a str>,
    pub attributes: Option<&'a Map<String, Value>>,
}

/// SNS's canonical string of a message for SignatureVersion 1 and 2.
pub fn string_to_sign(m: &Unsigned<'_>) -> String {
    let mut fields: Vec<(&str, &str)> = vec![("Message", m.message), ("MessageId", m.message_id)];
    if m.kind == "Notification" {
        if let Some(s) = m.subject {
            fields.push(("Subject", s));
        }
    } else {
        fields.push(("SubscribeURL", m.subscribe_url.unwrap_or("")));
    }
    fields.push(("Timestamp", m.timestamp));
    if m.kind != "Notification" {
        fields.push(("Token", m.token.unwrap_or("")));
    }
    fields.push(("TopicArn", m.topic_arn));
    fields.push(("Type", m.kind));
    fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect()
}

/// The signed JSON document, members in SNS's order.
pub fn signed(m: &Unsigned<'_>, key: &SigningKey, cert_url: &str) -> String {
    let signature = base64::engine::general_purpose::STANDARD.encode(key.sign(string_to_sign(m).as_bytes()));
    let mut doc = Map::new();
    doc.insert("Type".into(), json!(m.kind));
    doc.insert("MessageId".into(), json!(m.message_id));
    if let Some(t) = m.token {
        doc.insert("Token".into(), json!(t));
    }
    doc.insert("TopicArn".into(), json!(m.topic_arn));
    if let Some(s) = m.subject {
        doc.insert("Subject".into(), json!(s));
    }
    doc.insert("Message".into(), json!(m.message));
    if let Some(u) = m.subscribe_url {
        doc.insert("SubscribeURL".into(), json!(u));
    }
    doc.insert("Timestamp".into(), json!(m.timestamp));
    doc.insert("SignatureVersion".into(), json!("2"));
    doc.insert("Signature".into(), json!(signature));
    doc.insert("SigningCertURL".into(), json!(cert_url));
    if let Some(u) = m.unsubscribe_url {
        doc.insert("UnsubscribeURL".into(), json!(u));
    }
    if let Some(a) = m.attributes.filter(|a| !a.is_empty()) {
        doc.insert("MessageAttributes".into(), Value::Object(a.clone()));
    }
    Value::Object(doc).to_string()
}

/// A self-signed X.509 v3 certificate (DER) for `key`, named `CN=<common_name>`, valid from 2020 to the end of 2049.
pub fn certificate(key: &SigningKey, common_name: &str) -> Vec<u8> {
    const SHA256_WITH_RSA: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    const RSA_ENCRYPTION: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    const COMMON_NAME: [u8; 5] = [0x06, 0x03, 0x55, 0x04, 0x03];
    const NULL: [u8; 2] = [0x05, 0x00];
    let algorithm = |oid: &[u8]| tlv(0x30, &[oid, &NULL].concat());
    let name = tlv(0x30, &tlv(0x31, &tlv(0x30, &[&COMMON_NAME[..], &tlv(0x0c, common_name.as_bytes())].concat())));
    let validity = tlv(0x30, &[tlv(0x17, b"200101000000Z"), tlv(0x17, b"491231235959Z")].concat());
    let public_key =
        tlv(0x30, &[algorithm(&RSA_ENCRYPTION), tlv(0x03, &[&[0u8][..], key.public_der()].concat())].concat());
    // A positive serial: the public key's fingerprint, high bit cleared.
    let mut serial: Vec<u8> =
        (0..16).map(|i| u8::from_str_radix(&key.fingerprint()[i * 2..i * 2 + 2], 16).unwrap_or(0)).collect();
    serial[0] &= 0x7f;
    let tbs = tlv(
        0x30,
        &[
            tlv(0xa0, &tlv(0x02, &[2])),
            tlv(0x02, &serial),
            algorithm(&SHA256_WITH_RSA),
            name.clone(),
            validity,
            name,
            public_key,
        ]
        .concat(),
    );
    let signature = key.sign(&tbs);
    tlv(0x30, &[tbs, algorithm(&SHA256_WITH_RSA), tlv(0x03, &[&[0u8][..], &signature].concat())].concat())
}

/// A DER certificate as PEM.
pub fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

/// A DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_strings_follow_sns() {
        let mut m = Unsigned {
            kind: "Notification",
            message_id: "id",
            topic_arn: "arn:t",
            subject: Some("s"),
            message: "m",
            timestamp: "2026-12-05T10:00:00.000Z",
            token: None,
            subscribe_url: None,
            unsubscribe_url: Some("u"),
            attributes: None,
        };
        assert_eq!(
            string_to_sign(&m),
            "Message\nm\nMessageId\nid\nSubject\ns\nTimestamp\n2026-12-05T10:00:00.000Z\nTopicArn\narn:t\nType\nNotification\n"
        );
        m.kind = "SubscriptionConfirmation";
        m.subject = None;
        m.token = Some("tok");
        m.subscribe_url = Some("https://x/?a");
        assert_eq!(
            string_to_sign(&m),
            "Message\nm\nMessageId\nid\nSubscribeURL\nhttps://x/?a\nTimestamp\n2026-12-05T10:00:00.000Z\nToken\ntok\nTopicArn\narn:t\nType\nSubscriptionConfirmation\n"
        );
    }

    #[test]
    fn long_lengths_encode_in_der_form() {
        assert_eq!(tlv(0x04, &[1, 2]), [0x04, 2, 1, 2]);
        let long = tlv(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }
}
