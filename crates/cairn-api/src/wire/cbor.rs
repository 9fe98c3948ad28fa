//! Smithy RPC v2 CBOR bodies: a request decodes to a JSON value (timestamps, tag 1, become epoch seconds; byte
//! strings become base64 text), an answer encodes from a [`Node`] with timestamps tagged and doubles as floats.

use base64::Engine;
use minicbor::data::{IanaTag, Tag, Type};
use minicbor::{Decoder, Encoder};
use serde_json::{Map, Number, Value};

use super::Node;

/// How deeply requests may nest: deeper than any AWS shape, shallow enough that recursion is safe.
const MAX_DEPTH: usize = 32;

/// The content type of RPC v2 CBOR bodies.
pub const CONTENT_TYPE: &str = "application/cbor";

/// Decodes one CBOR data item, the whole body, into JSON; an empty body is an empty structure.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let mut d = Decoder::new(body);
    let v = item(&mut d, 0)?;
    if d.position() != body.len() {
        return Err(format!("{} bytes follow the CBOR data item", body.len() - d.position()));
    }
    Ok(v)
}

fn err(e: minicbor::decode::Error) -> String {
    format!("malformed CBOR: {e}")
}

fn item(d: &mut Decoder<'_>, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("CBOR nests too deeply".into());
    }
    let number = |f: f64| Number::from_f64(f).map(Value::Number).ok_or_else(|| "a number is not finite".to_string());
    Ok(match d.datatype().map_err(err)? {
        Type::Bool => Value::Bool(d.bool().map_err(err)?),
        Type::Null => {
            d.null().map_err(err)?;
            Value::Null
        }
        Type::Undefined => {
            d.undefined().map_err(err)?;
            Value::Null
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Value::from(d.u64().map_err(err)?),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 => Value::from(d.i64().map_err(err)?),
        Type::Int => {
            let i = i128::from(d.int().map_err(err)?);
            number(i as f64)?
        }
        Type::F16 | Type::F32 | Type::F64 => number(d.f64().map_err(err)?)?,
        Type::Bytes | Type::BytesIndef => {
            let mut bytes = Vec::new();
            for chunk in d.bytes_iter().map_err(err)? {
                bytes.extend_from_slice(chunk.map_err(err)?);
            }
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Type::String | Type::StringIndef => Value::String(text(d)?),
        Type::Array | Type::ArrayIndef => {
            let mut items = Vec::new();
            match d.array().map_err(err)? {
                Some(n) => {
                    for _ in 0..n {
                        items.push(item(d, depth + 1)?);
                    }
                }
                None => {
                    while d.datatype().map_err(err)? != Type::Break {
                        items.push(item(d, depth + 1)?);
                    }
                    d.skip().map_err(err)?;
                }
            }
            Value::Array(items)
        }
        Type::Map | Type::MapIndef => {
            let mut members = Map::new();
            let mut entry = |d: &mut Decoder<'_>| -> Result<(), String> {
                if !matches!(d.datatype().map_err(err)?, Type::String | Type::StringIndef) {
                    return Err("a CBOR map key is not text".into());
                }
                let key = text(d)?;
                let value = item(d, depth + 1)?;
                members.insert(key, value);
                Ok(())
            };
            match d.map().map_err(err)? {
                Some(n) => {
                    for _ in 0..n {
                        entry(d)?;
                    }
                }
                None => {
                    while d.datatype().map_err(err)? != Type::Break {
                        entry(d)?;
                    }
                    d.skip().map_err(err)?;
                }
            }
            Value::Object(members)
        }
        Type::Tag => {
            let tag = d.tag().map_err(err)?;
            if tag != Tag::from(IanaTag::Timestamp) {
                return Err(format!("unsupported CBOR tag {}", u64::from(tag)));
            }
            match item(d, depth + 1)? {
                v @ Value::Number(_) => v,
                _ => return Err("a CBOR timestamp is not a number".into()),
            }
        }
        other => return Err(format!("unsupported CBOR type {other}")),
    })
}

fn text(d: &mut Decoder<'_>) -> Result<String, String> {
    let mut s = String::new();
    for chunk in d.str_iter().map_err(err)? {
        s.push_str(chunk.map_err(err)?);
    }
    Ok(s)
}

/// Encodes an answer: structures and maps as definite-length maps without their null members.
pub fn encode(node: &Node) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    write(&mut e, node);
    e.into_writer()
}

fn write(e: &mut Encoder<Vec<u8>>, node: &Node) {
    // Writing to a Vec cannot fail.
    let _ = match node {
        Node::Null => e.null(),
        Node::Bool(b) => e.bool(*b),
        Node::Int(i) => e.i64(*i),
        Node::Float(f) => e.f64(*f),
        Node::Str(s) => e.str(s),
        Node::Time(ms) => e.tag(IanaTag::Timestamp).and_then(|e| e.f64(*ms as f64 / 1000.0)),
        Node::List(items) => {
            let _ = e.array(items.len() as u64);
            for i in items {
                write(e, i);
            }
            Ok(&mut *e)
        }
        Node::Struct(members) | Node::Map(members) => {
            let present: Vec<_> = members.iter().filter(|(_, v)| *v != Node::Null).collect();
            let _ = e.map(present.len() as u64);
            for (k, v) in present {
                let _ = e.str(k);
                write(e, v);
            }
            Ok(&mut *e)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_round_trip_through_requests_decoding() {
        let n = Node::object()
            .with("Name", "x")
            .with("Count", 3i64)
            .with("Value", 2.5)
            .with("At", Node::Time(1_796_464_800_500))
            .with("Items", Node::list(["a", "b"]))
            .with("Tags", Node::Map(vec![("k".into(), Node::str("v"))]))
            .with("Ok", true);
        let bytes = encode(&n);
        assert_eq!(
            decode(&bytes).unwrap(),
            json!({"Name": "x", "Count": 3, "Value": 2.5, "At": 1_796_464_800.5, "Items": ["a", "b"], "Tags": {"k": "v"}, "Ok": true})
        );
        // The timestamp is tag 1 over a double.
        let at = bytes.windows(2).position(|w| w == [0xc1, 0xfb]);
        assert!(at.is_some());
    }

    #[test]
    fn refuses_what_is_not_one_well_formed_item() {
        assert_eq!(decode(b"").unwrap(), json!({}));
        assert!(decode(&[0xa1, 0x01, 0x02]).is_err(), "integer key");
        assert!(decode(&[0xa1]).is_err(), "truncated");
        assert!(decode(&[0xf6, 0xf6]).is_err(), "trailing item");
        let deep: Vec<u8> = std::iter::repeat_n(0x81u8, 100).chain([0xf6]).collect();
        assert!(decode(&deep).is_err(), "too deep");
        // Indefinite-length map and text.
        assert_eq!(decode(&[0xbf, 0x7f, 0x61, b'a', 0xff, 0x01, 0xff]).unwrap(), json!({"a": 1}));
    }
}
