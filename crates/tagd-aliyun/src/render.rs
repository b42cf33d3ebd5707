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
    // Most answers fit; a listing grows it a few times instead of a dozen.
    let mut out = String::with_capacity(1024);
    write_json(root, &mut out);
    out
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
                out.push('"');
                out.push_str(name);
                out.push_str("\":");
                write_json(value, out);
            }
            out.push('}');
        }
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

pub fn to_xml(root_name: &str, root: &Node) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    write_xml_element(root_name, root, &mut out);
    out
}

fn write_xml_element(name: &str, node: &Node, out: &mut String) {
    if let Node::List(items) = node {
        for item in items {
            write_xml_element(name, item, out);
        }
        return;
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
        Node::List(_) => {}
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn escape_xml(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
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
