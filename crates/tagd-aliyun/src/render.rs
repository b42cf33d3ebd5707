//! Response bodies: one small tree rendered as JSON or XML (spec aliyun.md §1.6).
//!
//! In XML a list under a name becomes that element repeated, so `{"TagResources":
//! {"TagResource":[a,b]}}` renders as `<TagResources><TagResource>a</TagResource><TagResource>b
//! </TagResource></TagResources>`, which is what the SDKs' XML shapes are.

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use crate::error::AliyunError;

/// The response format a request asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// `Format=JSON|json|XML`; absent means XML (the documented default for V1).
    pub fn from_param(value: Option<&str>) -> Format {
        match value {
            Some(v) if v.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Xml,
        }
    }
}

/// A response body before rendering.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// Owned text, or a constant such as a tag's `Category` (see [`Node::constant`]).
    Text(Cow<'static, str>),
    Int(i64),
    Bool(bool),
    /// Named children, in order.
    Object(Vec<(&'static str, Node)>),
    /// In XML, each item repeats the enclosing name.
    List(Vec<Node>),
    /// A value already rendered by a [`Stream`] in the response's format: in XML that includes
    /// its elements (the enclosing name repeated for each item), so it is written as is.
    Rendered(String),
}

impl Node {
    pub fn text(s: impl Into<String>) -> Node {
        Node::Text(Cow::Owned(s.into()))
    }

    /// Text known at compile time: no allocation.
    pub fn constant(s: &'static str) -> Node {
        Node::Text(Cow::Borrowed(s))
    }
}

pub fn to_json(root: &Node) -> String {
    let mut out = String::with_capacity(capacity_for(root));
    write_json(root, &mut out);
    out
}

/// Room for `root` rendered: its already rendered parts (a listing's items, nearly all of a
/// large answer) plus 1 KiB for the rest, so that a listing is copied once, not regrown.
fn capacity_for(root: &Node) -> usize {
    fn rendered(node: &Node) -> usize {
        match node {
            Node::Rendered(text) => text.len(),
            Node::Object(fields) => fields.iter().map(|(_, value)| rendered(value)).sum(),
            Node::List(items) => items.iter().map(rendered).sum(),
            Node::Text(_) | Node::Int(_) | Node::Bool(_) => 0,
        }
    }
    1024 + rendered(root)
}

fn write_json(node: &Node, out: &mut String) {
    match node {
        Node::Text(s) => escape_json(s, out),
        Node::Int(i) => out.push_str(&i.to_string()),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Object(fields) => {
            out.push('{');
            for (i, (name, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_name(name, out);
                write_json(value, out);
            }
            out.push('}');
        }
        Node::Rendered(text) => out.push_str(text),
        Node::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
    }
}

/// A JSON string literal, escaped as serde_json escapes it (`\b \f \n \r \t \" \\`, other
/// control characters as `\u00xx`, everything else as is), written straight into `out`.
fn escape_json(s: &str, out: &mut String) {
    out.push('"');
    if !needs_json_escape(s.as_bytes()) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (at, byte) in s.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0C => "\\f",
            0x00..=0x1F => "",
            _ => continue,
        };
        // Escaped bytes are ASCII, so both ends of the run are char boundaries.
        out.push_str(&s[start..at]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0F)]));
        } else {
            out.push_str(escape);
        }
        start = at + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Whether any byte of `bytes` needs escaping in a JSON string. Most text needs none; this test
/// reads 16 bytes a step without branching on each, which the compiler turns into vector code.
fn needs_json_escape(bytes: &[u8]) -> bool {
    let special = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    let mut chunks = bytes.chunks_exact(16);
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |any, &b| any | special(b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| special(b))
}

pub fn to_xml(root_name: &str, root: &Node) -> String {
    let mut out = String::with_capacity(capacity_for(root));
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write_xml_element(root_name, root, &mut out);
    out
}

fn write_xml_element(name: &str, node: &Node, out: &mut String) {
    match node {
        Node::List(items) => {
            for item in items {
                write_xml_element(name, item, out);
            }
            return;
        }
        Node::Rendered(text) => {
            out.push_str(text);
            return;
        }
        _ => {}
    }
    out.push('<');
    out.push_str(name);
    out.push('>');
    match node {
        Node::Text(s) => escape_xml(s, out),
        Node::Int(i) => out.push_str(&i.to_string()),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Object(fields) => {
            for (child, value) in fields {
                write_xml_element(child, value, out);
            }
        }
        Node::List(_) | Node::Rendered(_) => {}
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Escapes text for element content. A carriage return is written as `&#13;`: XML parsers turn a
/// raw CR (and CR LF) into LF, so only the reference comes back as the stored text.
fn escape_xml(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '\r' => out.push_str("&#13;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Tags may hold any text (§4), but XML 1.0 cannot carry these at all, not even as
            // references: a parser refuses the whole answer. They go out as U+FFFD, so the
            // answer stays readable; JSON carries them exactly.
            '\u{0}'..='\u{8}'
            | '\u{B}'
            | '\u{C}'
            | '\u{E}'..='\u{1F}'
            | '\u{FFFE}'
            | '\u{FFFF}' => {
                out.push(char::REPLACEMENT_CHARACTER);
            }
            c => out.push(c),
        }
    }
}

/// A list rendered straight into text, for listings too long to build as a [`Node`] tree first:
/// each node of a tree is an allocation, and freeing it another. What it writes is exactly what
/// rendering the same value as a tree writes (the tests compare the two); [`Stream::finish`]
/// hands it over as a [`Node::Rendered`].
///
/// The calls follow the value's shape: `begin_list`, then for each item `begin_item`, its
/// fields (`text`, or a nested `begin_list` … `end_list`), `end_item`; then `end_list`.
pub struct Stream {
    format: Format,
    out: String,
    /// Open lists and items.
    depth: usize,
    /// JSON: nothing is written yet in the innermost open list or item (no comma is due).
    fresh: bool,
}

impl Stream {
    pub fn new(format: Format) -> Stream {
        Stream::with_capacity(format, 4096)
    }

    /// A stream with room for `bytes` (a listing's estimate: regrowing a large answer copies
    /// it several times).
    pub fn with_capacity(format: Format, bytes: usize) -> Stream {
        Stream {
            format,
            out: String::with_capacity(bytes),
            depth: 0,
            fresh: true,
        }
    }

    fn comma(&mut self) {
        if !self.fresh {
            self.out.push(',');
        }
    }

    /// Opens a list: the value itself at the top, else the field `name` of the open item.
    pub fn begin_list(&mut self, name: &str) {
        if self.format == Format::Json {
            if self.depth > 0 {
                self.comma();
                push_json_name(name, &mut self.out);
            }
            self.out.push('[');
        }
        self.depth += 1;
        self.fresh = true;
    }

    pub fn end_list(&mut self) {
        if self.format == Format::Json {
            self.out.push(']');
        }
        self.depth = self.depth.saturating_sub(1);
        self.fresh = false;
    }

    /// Opens an object in the open list; `name` is the list's (XML repeats it for each item).
    pub fn begin_item(&mut self, name: &str) {
        match self.format {
            Format::Json => {
                self.comma();
                self.out.push('{');
            }
            Format::Xml => push_xml_tag("<", name, &mut self.out),
        }
        self.depth += 1;
        self.fresh = true;
    }

    pub fn end_item(&mut self, name: &str) {
        match self.format {
            Format::Json => self.out.push('}'),
            Format::Xml => push_xml_tag("</", name, &mut self.out),
        }
        self.depth = self.depth.saturating_sub(1);
        self.fresh = false;
    }

    /// A text field of the open item.
    pub fn text(&mut self, name: &str, value: &str) {
        match self.format {
            Format::Json => {
                self.comma();
                push_json_name(name, &mut self.out);
                escape_json(value, &mut self.out);
            }
            Format::Xml => {
                push_xml_tag("<", name, &mut self.out);
                escape_xml(value, &mut self.out);
                push_xml_tag("</", name, &mut self.out);
            }
        }
        self.fresh = false;
    }

    pub fn finish(self) -> Node {
        Node::Rendered(self.out)
    }

    /// A stream of items for a list open elsewhere, to be added with [`Stream::append_items`].
    fn items_part(format: Format, bytes: usize) -> Stream {
        Stream {
            depth: 1,
            ..Stream::with_capacity(format, bytes)
        }
    }

    /// Adds the items of `part` to the open list, after those already in it.
    fn append_items(&mut self, part: &Stream) {
        if part.out.is_empty() {
            return;
        }
        if self.format == Format::Json {
            self.comma();
        }
        self.out.push_str(&part.out);
        self.fresh = false;
    }
}

/// Below this many items a list is rendered on one thread. An item of a Tag service listing
/// takes ~0.35 µs and a hand-off to the blocking pool and back ~15 µs, so each half must be
/// well above that (`bench/README.md`, session 13).
const PARALLEL_ITEMS: usize = 256;

/// The blocking pool would not take the second half of a list: the runtime is shutting down.
#[derive(Debug)]
pub struct ShuttingDown;

/// Renders `items` into the open list of `out` with `render` (which renders a run of them). A
/// long list is rendered in two halves at once, the second on tokio's blocking pool (which also
/// frees its items): rendering was a fifth of a 500-resource listing's CPU (`bench/README.md`,
/// session 13).
pub async fn stream_items<T, F>(
    out: &mut Stream,
    mut items: Vec<T>,
    render: F,
) -> Result<(), ShuttingDown>
where
    T: Send + 'static,
    F: Fn(&mut Stream, &[T]) + Clone + Send + 'static,
{
    if items.len() < PARALLEL_ITEMS {
        render(out, &items);
        return Ok(());
    }
    let tail = items.split_off(items.len() / 2);
    let (format, bytes) = (
        out.format,
        out.out.capacity().saturating_sub(out.out.len()) / 2,
    );
    let render_tail = render.clone();
    let part = tokio::task::spawn_blocking(move || {
        let mut part = Stream::items_part(format, bytes);
        render_tail(&mut part, &tail);
        part
    });
    render(out, &items);
    match part.await {
        Ok(part) => {
            out.append_items(&part);
            Ok(())
        }
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        Err(_) => Err(ShuttingDown),
    }
}

fn push_json_name(name: &str, out: &mut String) {
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
}

fn push_xml_tag(open: &str, name: &str, out: &mut String) {
    out.push_str(open);
    out.push_str(name);
    out.push('>');
}

/// Renders a body with its status and Content-Type, plus the `x-acs-request-id` header.
pub fn respond(
    status: u16,
    format: Format,
    root_name: &str,
    body: &Node,
    request_id: &str,
) -> Response<Bytes> {
    let (content_type, text) = match format {
        Format::Json => ("application/json;charset=utf-8", to_json(body)),
        Format::Xml => ("text/xml;charset=utf-8", to_xml(root_name, body)),
    };
    let mut response = Response::new(Bytes::from(text));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-acs-request-id", id);
    }
    response
}

/// The product's host and name, for `HostId` and `Recommend`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Product {
    pub host: &'static str,
    pub name: &'static str,
}

pub const RDS: Product = Product {
    host: "rds.aliyuncs.com",
    name: "Rds",
};
pub const TAG: Product = Product {
    host: "tag.aliyuncs.com",
    name: "Tag",
};

/// An error response: five non-empty fields, JSON or under an `<Error>` root (§1.6, §6 item 14).
pub fn error_response(
    err: &AliyunError,
    format: Format,
    product: Product,
    request_id: &str,
) -> Response<Bytes> {
    let recommend = format!(
        "https://api.aliyun.com/troubleshoot?q={}&product={}&requestId={}",
        err.code, product.name, request_id
    );
    let body = Node::Object(vec![
        ("RequestId", Node::text(request_id)),
        ("HostId", Node::text(product.host)),
        ("Code", Node::text(err.code.as_ref())),
        ("Message", Node::text(err.message.as_ref())),
        ("Recommend", Node::text(recommend)),
    ]);
    respond(err.status, format, "Error", &body, request_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Node {
        let row = |id: &str| {
            Node::Object(vec![
                ("ResourceId", Node::text(id)),
                ("TagKey", Node::text("k&<")),
            ])
        };
        Node::Object(vec![
            ("RequestId", Node::text("R1")),
            ("NextToken", Node::text("")),
            (
                "TagResources",
                Node::Object(vec![("TagResource", Node::List(vec![row("a"), row("b")]))]),
            ),
        ])
    }

    proptest::proptest! {
        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(s in "\\PC*|[\\x00-\\x20\"\\\\/\\x7f]*") {
            let mut out = String::new();
            escape_json(&s, &mut out);
            proptest::prop_assert_eq!(out, serde_json::to_string(&s).expect("json"));
        }
    }

    /// The same listing as a tree and through a [`Stream`]: items with a text field and a
    /// nested list of objects, the list being a field of an enclosing object.
    fn listing_both_ways(
        items: &[(String, Vec<(String, String)>)],
        format: Format,
    ) -> (String, String) {
        let tree = Node::List(
            items
                .iter()
                .map(|(id, tags)| {
                    Node::Object(vec![
                        ("Id", Node::text(id.as_str())),
                        (
                            "Tags",
                            Node::List(
                                tags.iter()
                                    .map(|(k, v)| {
                                        Node::Object(vec![
                                            ("Key", Node::text(k.as_str())),
                                            ("Value", Node::text(v.as_str())),
                                        ])
                                    })
                                    .collect(),
                            ),
                        ),
                    ])
                })
                .collect(),
        );
        let mut stream = Stream::new(format);
        stream.begin_list("Items");
        for (id, tags) in items {
            stream.begin_item("Items");
            stream.text("Id", id);
            stream.begin_list("Tags");
            for (k, v) in tags {
                stream.begin_item("Tags");
                stream.text("Key", k);
                stream.text("Value", v);
                stream.end_item("Tags");
            }
            stream.end_list();
            stream.end_item("Items");
        }
        stream.end_list();
        let wrap = |items: Node| {
            Node::Object(vec![
                ("NextToken", Node::text("t")),
                ("Items", items),
                ("Total", Node::Int(1)),
            ])
        };
        let render = |node: &Node| match format {
            Format::Json => to_json(node),
            Format::Xml => to_xml("Root", node),
        };
        (render(&wrap(tree)), render(&wrap(stream.finish())))
    }

    proptest::proptest! {
        #[test]
        fn a_stream_renders_what_the_tree_renders(
            items in proptest::collection::vec(
                ("\\PC{0,12}", proptest::collection::vec(("[a-z\"<&]{0,6}", "\\PC{0,8}"), 0..4)),
                0..5,
            )
        ) {
            for format in [Format::Json, Format::Xml] {
                let (tree, stream) = listing_both_ways(&items, format);
                proptest::prop_assert_eq!(tree, stream);
            }
        }
    }

    #[test]
    fn a_streamed_listing_is_valid_json() {
        let items = vec![
            ("a\"b".to_owned(), vec![("k".to_owned(), "v\n".to_owned())]),
            ("c".to_owned(), vec![]),
        ];
        let (tree, stream) = listing_both_ways(&items, Format::Json);
        assert_eq!(tree, stream);
        let v: serde_json::Value = serde_json::from_str(&stream).expect("json");
        assert_eq!(v["Items"][0]["Tags"][0]["Value"], "v\n");
        assert_eq!(v["Items"][1]["Tags"], serde_json::json!([]));
        assert_eq!(v["Total"], 1);
    }

    /// A list long enough to be rendered in two halves at once reads exactly as the same list
    /// rendered on one thread, in both formats, whatever its length around the split.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_list_rendered_in_halves_reads_as_one_rendered_in_one_go() {
        fn render(out: &mut Stream, items: &[usize]) {
            for i in items {
                out.begin_item("Items");
                out.text("Id", &format!("r-{i}"));
                out.begin_list("Tags");
                out.begin_item("Tags");
                out.text("Key", "k\"<");
                out.end_item("Tags");
                out.end_list();
                out.end_item("Items");
            }
        }
        for format in [Format::Json, Format::Xml] {
            for n in [
                0,
                1,
                PARALLEL_ITEMS - 1,
                PARALLEL_ITEMS,
                PARALLEL_ITEMS + 1,
                1000,
            ] {
                let items: Vec<usize> = (0..n).collect();
                let mut whole = Stream::new(format);
                whole.begin_list("Items");
                render(&mut whole, &items);
                whole.end_list();
                let mut halves = Stream::new(format);
                halves.begin_list("Items");
                stream_items(&mut halves, items, render)
                    .await
                    .expect("rendered");
                halves.end_list();
                let (whole, halves) = (whole.finish(), halves.finish());
                let text = |node: &Node| match format {
                    Format::Json => to_json(node),
                    Format::Xml => to_xml("Root", node),
                };
                assert_eq!(text(&halves), text(&whole), "{format:?}, {n} items");
                if format == Format::Json {
                    let v: serde_json::Value = serde_json::from_str(&text(&halves)).expect("json");
                    assert_eq!(v.as_array().map(Vec::len), Some(n));
                }
            }
        }
    }

    #[test]
    fn json_shape() {
        assert_eq!(
            to_json(&sample()),
            r#"{"RequestId":"R1","NextToken":"","TagResources":{"TagResource":[{"ResourceId":"a","TagKey":"k&<"},{"ResourceId":"b","TagKey":"k&<"}]}}"#
        );
    }

    #[test]
    fn xml_repeats_list_items_and_escapes() {
        assert_eq!(
            to_xml("ListTagResourcesResponse", &sample()),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListTagResourcesResponse><RequestId>R1</RequestId><NextToken></NextToken><TagResources><TagResource><ResourceId>a</ResourceId><TagKey>k&amp;&lt;</TagKey></TagResource><TagResource><ResourceId>b</ResourceId><TagKey>k&amp;&lt;</TagKey></TagResource></TagResources></ListTagResourcesResponse>"
        );
    }

    #[test]
    fn xml_writes_what_xml_cannot_carry_as_replacement_characters() {
        let mut out = String::new();
        escape_xml(
            "a\u{1}b\u{8}\u{B}\u{C}\u{1F}\u{FFFE}\u{FFFF}c\td\ne\u{7F}\u{FFFD}",
            &mut out,
        );
        assert_eq!(
            out,
            "a\u{FFFD}b\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}c\td\ne\u{7F}\u{FFFD}"
        );
        let mut json = String::new();
        escape_json("a\u{1}b", &mut json);
        assert_eq!(json, "\"a\\u0001b\"", "JSON carries them exactly");
    }

    #[test]
    fn xml_writes_carriage_returns_as_references() {
        let mut out = String::new();
        escape_xml("a\r\nb\tc\rd", &mut out);
        assert_eq!(out, "a&#13;\nb\tc&#13;d");
        let mut streamed = Stream::new(Format::Xml);
        streamed.text("TagValue", "x\ry");
        assert_eq!(
            streamed.finish(),
            Node::Rendered("<TagValue>x&#13;y</TagValue>".into())
        );
    }

    #[test]
    fn error_body_has_five_fields() {
        let r = error_response(&crate::error::NONCE_USED, Format::Json, RDS, "ID-1");
        assert_eq!(r.status(), 400);
        let v: serde_json::Value = serde_json::from_slice(r.body()).expect("json");
        for field in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
            assert!(v[field].as_str().is_some_and(|s| !s.is_empty()), "{field}");
        }
        let x = error_response(&crate::error::NONCE_USED, Format::Xml, RDS, "ID-1");
        let text = std::str::from_utf8(x.body()).expect("utf8");
        assert!(text.contains("<Error><RequestId>ID-1</RequestId><HostId>rds.aliyuncs.com</HostId><Code>SignatureNonceUsed</Code>"));
        assert!(text.contains("&amp;product=Rds"));
        assert_eq!(x.headers()["content-type"], "text/xml;charset=utf-8");
    }
}
