//! Records into Lake columns in one pass: each record's JSON is read once, straight into the Arrow builders of the
//! table's columns, with no JSON tree in between (imports convert millions of records a minute through here).
//!
//! The rules are [`super::schema`]'s: members match columns without regard to case, a `map<string,string>` holds
//! string values as they are and any other value as its JSON text, a `string` column holds a non-string value as its
//! JSON text, and a value of the wrong shape is null. A member named twice keeps its first value.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBufferBuilder, BooleanBuilder, Float64Builder, Int32Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, ListArray, MapArray, StructArray};
use arrow_schema::{DataType, FieldRef, Fields};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// The builders of one column (or member of a struct column).
pub(super) enum Column {
    Text(StringBuilder),
    Bool(BooleanBuilder),
    Float(Float64Builder),
    Int(Int32Builder),
    Time(TimestampMillisecondBuilder),
    Struct(StructColumn),
    List {
        item: FieldRef,
        offsets: Vec<i32>,
        valid: BooleanBufferBuilder,
        child: Box<Column>,
    },
    Map {
        entries: FieldRef,
        kv: Fields,
        keys: StringBuilder,
        values: StringBuilder,
        offsets: Vec<i32>,
        valid: BooleanBufferBuilder,
    },
}

/// A struct column's members and which of them the object being read has named.
pub(super) struct StructColumn {
    fields: Fields,
    /// The members' names, lower case, as bytes.
    names: Vec<Box<[u8]>>,
    children: Vec<Column>,
    valid: BooleanBufferBuilder,
    seen: Vec<bool>,
    /// Where the search for the next key's member starts: records name members in much the schema's order.
    hint: usize,
}

impl StructColumn {
    pub(super) fn new(fields: Fields, capacity: usize) -> Self {
        let children = fields.iter().map(|f| Column::new(f.data_type(), capacity)).collect();
        let seen = vec![false; fields.len()];
        let names = fields.iter().map(|f| f.name().to_ascii_lowercase().into_bytes().into_boxed_slice()).collect();
        StructColumn { fields, names, children, valid: BooleanBufferBuilder::new(capacity), seen, hint: 0 }
    }

    /// The member a record's key names: the field of that name, without regard to case.
    fn index_of(&mut self, key: &str) -> Option<usize> {
        let key = key.as_bytes();
        let matches =
            |name: &[u8]| name.len() == key.len() && name.iter().zip(key).all(|(n, k)| *n == k.to_ascii_lowercase());
        let (after, before) = self.names.split_at(self.hint.min(self.names.len()));
        let i = match before.iter().position(|n| matches(n)) {
            Some(i) => after.len() + i,
            None => after.iter().position(|n| matches(n))?,
        };
        self.hint = i + 1;
        Some(i)
    }

    fn append_null(&mut self) {
        for child in &mut self.children {
            child.append_null();
        }
        self.valid.append(false);
    }

    /// Reads one JSON object into the members.
    fn read_object<'de, A: MapAccess<'de>>(&mut self, mut map: A) -> Result<(), A::Error> {
        self.seen.iter_mut().for_each(|s| *s = false);
        while let Some(Key(key)) = map.next_key()? {
            match self.index_of(&key) {
                Some(i) if !self.seen[i] => {
                    self.seen[i] = true;
                    map.next_value_seed(&mut self.children[i])?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        for (child, seen) in self.children.iter_mut().zip(&self.seen) {
            if !seen {
                child.append_null();
            }
        }
        self.valid.append(true);
        Ok(())
    }

    /// The members' finished arrays.
    pub(super) fn finish_children(&mut self) -> Vec<ArrayRef> {
        self.children.iter_mut().map(Column::finish).collect()
    }

    /// Reads a whole record (a JSON object) into the members; the caller has checked that it is one.
    pub(super) fn read_record(&mut self, record: &str) -> serde_json::Result<()> {
        let mut de = serde_json::Deserializer::from_str(record);
        de.deserialize_map(Record(self))?;
        de.end()
    }
}

impl Column {
    fn new(ty: &DataType, capacity: usize) -> Self {
        match ty {
            DataType::Utf8 => Column::Text(StringBuilder::with_capacity(capacity, capacity * 16)),
            DataType::Boolean => Column::Bool(BooleanBuilder::with_capacity(capacity)),
            DataType::Float64 => Column::Float(Float64Builder::with_capacity(capacity)),
            DataType::Int32 => Column::Int(Int32Builder::with_capacity(capacity)),
            DataType::Timestamp(..) => Column::Time(TimestampMillisecondBuilder::with_capacity(capacity)),
            DataType::Struct(fields) => Column::Struct(StructColumn::new(fields.clone(), capacity)),
            DataType::List(item) => Column::List {
                item: Arc::clone(item),
                offsets: vec![0],
                valid: BooleanBufferBuilder::new(capacity),
                child: Box::new(Column::new(item.data_type(), capacity)),
            },
            DataType::Map(entries, _) => {
                let DataType::Struct(kv) = entries.data_type() else { unreachable!("map entries are a struct") };
                Column::Map {
                    entries: Arc::clone(entries),
                    kv: kv.clone(),
                    keys: StringBuilder::new(),
                    values: StringBuilder::new(),
                    offsets: vec![0],
                    valid: BooleanBufferBuilder::new(capacity),
                }
            }
            other => unreachable!("no Lake column has type {other}"),
        }
    }

    fn append_null(&mut self) {
        match self {
            Column::Text(b) => b.append_null(),
            Column::Bool(b) => b.append_null(),
            Column::Float(b) => b.append_null(),
            Column::Int(b) => b.append_null(),
            Column::Time(b) => b.append_null(),
            Column::Struct(s) => s.append_null(),
            Column::List { offsets, valid, .. } | Column::Map { offsets, valid, .. } => {
                offsets.push(*offsets.last().expect("offsets start at 0"));
                valid.append(false);
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Text(b) => Arc::new(b.finish()),
            Column::Bool(b) => Arc::new(b.finish()),
            Column::Float(b) => Arc::new(b.finish()),
            Column::Int(b) => Arc::new(b.finish()),
            Column::Time(b) => Arc::new(b.finish()),
            Column::Struct(s) => {
                let children = s.finish_children();
                let nulls = NullBuffer::new(s.valid.finish());
                Arc::new(StructArray::new(s.fields.clone(), children, Some(nulls)))
            }
            Column::List { item, offsets, valid, child } => Arc::new(ListArray::new(
                Arc::clone(item),
                OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into()),
                child.finish(),
                Some(NullBuffer::new(valid.finish())),
            )),
            Column::Map { entries, kv, keys, values, offsets, valid } => {
                let pairs = StructArray::new(
                    kv.clone(),
                    vec![Arc::new(keys.finish()) as ArrayRef, Arc::new(values.finish()) as ArrayRef],
                    None,
                );
                Arc::new(MapArray::new(
                    Arc::clone(entries),
                    OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into()),
                    pairs,
                    Some(NullBuffer::new(valid.finish())),
                    false,
                ))
            }
        }
    }
}

/// An object key, borrowed from the record when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// A JSON value as a `string` column or map value holds it: a string as it is, null as null, and anything else as
/// its JSON text (compact, as the record has it; numbers as JSON writes them).
fn text_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<Key<'_>>(text).ok().map(|k| k.0),
        Some(b'n') => None,
        Some(b't' | b'f') => Some(Cow::Borrowed(text)),
        Some(b'{' | b'[') if !text.bytes().any(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t')) => {
            Some(Cow::Borrowed(text))
        }
        // Numbers, and objects or arrays with spaces (maybe only inside strings): written as JSON writes them.
        _ => serde_json::from_str::<serde_json::Value>(text).ok().map(|v| Cow::Owned(v.to_string())),
    }
}

/// Reads a record's top-level object into the root columns.
struct Record<'a>(&'a mut StructColumn);

impl<'de> Visitor<'de> for Record<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.read_object(map)
    }
}

impl<'de> DeserializeSeed<'de> for &mut Column {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self {
            Column::Text(b) => {
                let raw: &'de RawValue = serde::Deserialize::deserialize(deserializer)?;
                b.append_option(text_of(raw));
                Ok(())
            }
            Column::Map { keys, values, offsets, valid, .. } => {
                let entries = deserializer.deserialize_any(MapEntries { keys, values })?;
                let last = *offsets.last().expect("offsets start at 0");
                offsets.push(last + entries.unwrap_or(0));
                valid.append(entries.is_some());
                Ok(())
            }
            Column::List { offsets, valid, child, .. } => {
                let items = deserializer.deserialize_any(ListItems(child))?;
                let last = *offsets.last().expect("offsets start at 0");
                offsets.push(last + items.unwrap_or(0));
                valid.append(items.is_some());
                Ok(())
            }
            Column::Struct(s) => deserializer.deserialize_any(Object(s)),
            scalar => deserializer.deserialize_any(Scalar(scalar)),
        }
    }
}

/// A visitor's answer to a JSON scalar or null (booleans, numbers, strings, null) where its column wants an object or
/// an array: `$value`, computed from the visitor.
macro_rules! scalars_read_as {
    ($ty:ty, |$v:ident| $value:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<$ty, E> {
            let $v = self;
            Ok($value)
        }
        fn visit_i64<E>(self, _: i64) -> Result<$ty, E> {
            let $v = self;
            Ok($value)
        }
        fn visit_u64<E>(self, _: u64) -> Result<$ty, E> {
            let $v = self;
            Ok($value)
        }
        fn visit_f64<E>(self, _: f64) -> Result<$ty, E> {
            let $v = self;
            Ok($value)
        }
        fn visit_str<E>(self, _: &str) -> Result<$ty, E> {
            let $v = self;
            Ok($value)
        }
        fn visit_unit<E>(self) -> Result<$ty, E> {
            let $v = self;
            Ok($value)
        }
    };
}

/// Skips what is left of a sequence or object that does not fit its column.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A struct column's value: an object, or null for anything else.
struct Object<'a>(&'a mut StructColumn);

impl<'de> Visitor<'de> for Object<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.read_object(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.append_null();
        drain_seq(seq)
    }
    scalars_read_as!((), |v| v.0.append_null());
}

/// A map column's value: an object's members (their count), or `None` for anything else.
struct MapEntries<'a> {
    keys: &'a mut StringBuilder,
    values: &'a mut StringBuilder,
}

impl<'de> Visitor<'de> for MapEntries<'_> {
    type Value = Option<i32>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<i32>, A::Error> {
        let mut n = 0;
        while let Some(Key(key)) = map.next_key()? {
            let value: &'de RawValue = map.next_value()?;
            self.keys.append_value(key);
            self.values.append_option(text_of(value));
            n += 1;
        }
        Ok(Some(n))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<i32>, A::Error> {
        drain_seq(seq).map(|()| None)
    }
    scalars_read_as!(Option<i32>, |_v| None);
}

/// A list column's value: an array's items (their count), or `None` for anything else.
struct ListItems<'a>(&'a mut Column);

impl<'de> Visitor<'de> for ListItems<'_> {
    type Value = Option<i32>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<i32>, A::Error> {
        let mut n = 0;
        while seq.next_element_seed(&mut *self.0)?.is_some() {
            n += 1;
        }
        Ok(Some(n))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<i32>, A::Error> {
        drain_map(map).map(|()| None)
    }
    scalars_read_as!(Option<i32>, |_v| None);
}

/// A boolean, number or timestamp column's value: the value when it reads as one (booleans and numbers may come as
/// strings), null otherwise.
struct Scalar<'a>(&'a mut Column);

impl Scalar<'_> {
    fn number(self, n: f64) {
        match self.0 {
            Column::Float(b) => b.append_value(n),
            Column::Int(b) => b.append_value(n as i32),
            other => other.append_null(),
        }
    }
}

impl<'de> Visitor<'de> for Scalar<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        match self.0 {
            Column::Bool(b) => b.append_value(v),
            other => other.append_null(),
        }
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.number(v as f64);
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.number(v as f64);
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.number(v);
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        match self.0 {
            Column::Bool(b) => b.append_option(match v {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }),
            Column::Time(b) => b.append_option(cairn_model::event::event_time_millis(v)),
            Column::Float(b) => b.append_option(v.parse().ok()),
            Column::Int(b) => b.append_option(v.parse::<f64>().ok().map(|n| n as i32)),
            other => other.append_null(),
        }
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.append_null();
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.append_null();
        drain_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.append_null();
        drain_map(map)
    }
}
