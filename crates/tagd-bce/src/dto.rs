//! JSON request and response models of the BCE Tag API, `shared/spec/bce.md` §2 and §5, with
//! the field names of bce-sdk-go's `services/tag/model.go` (lowerCamelCase, case-sensitive).
//!
//! Requests are read leniently, as §1.4 and §2 ask:
//! - unknown fields are ignored (never rejected, never echoed);
//! - tag fields never fail deserialization: a missing or `null` `tagKey`/`tagValue` is `""`
//!   and a missing or `null` `tags` is `[]`, so that the handler answers with the Tag codes
//!   (`TagKeyEmpty`, `TagEmpty`, §3.2) rather than a JSON error;
//! - the required non-tag fields (`resources`, `resource`, `resourceId`, `region`, top-level
//!   `serviceType`) are required here, so that their absence is `InappropriateJSON`;
//! - `associationType` is a string in requests (doc example `"floating"`, Go sends `""`) but is
//!   also accepted as a number.
//!
//! Responses use exact JSON types: `tagId` and `associationType` are integers, the list key of
//! every read response is always present (`{"tags":[]}`), and `resourceType` (not
//! `serviceType`) names the type in tagResources entries.
//!
//! [`parse_body`] tells the two body errors apart: not well-formed (or empty) is
//! `MalformedJSON`, well-formed but of the wrong shape is `InappropriateJSON`.

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// Why a request body could not be read as the operation's model.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Empty, or not well-formed JSON: 400 `MalformedJSON`.
    #[error("body is not well-formed json")]
    Malformed(#[source] serde_json::Error),
    /// Well-formed JSON of the wrong shape or types, or a required field missing: 400
    /// `InappropriateJSON`.
    #[error("body json does not fit the operation")]
    Inappropriate(#[source] serde_json::Error),
}

/// Reads a request body as `T`, classifying failures as §1.4 says. An empty or blank body is
/// [`BodyError::Malformed`]; well-formed JSON that is not an object is
/// [`BodyError::Inappropriate`].
///
/// serde's derived structs also accept a JSON array of the fields in order; that is refused at
/// the top level here, and tolerated inside (`{"tags":[["k","v"]]}` reads as one tag; no SDK
/// sends it).
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    let value = serde_json::from_slice(body).map_err(|err| match err.classify() {
        serde_json::error::Category::Data => BodyError::Inappropriate(err),
        serde_json::error::Category::Io
        | serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof => BodyError::Malformed(err),
    })?;
    // The body parsed, so its first non-blank byte starts the top-level value.
    let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(BodyError::Inappropriate(de::Error::custom(
            "the body is not a json object",
        )));
    }
    Ok(value)
}

/// Renders a response model as compact JSON.
pub fn render<T: Serialize>(value: &T) -> Vec<u8> {
    // The models hold only strings, integers and lists of them: they always serialize.
    serde_json::to_vec(value).expect("tag models serialize to json")
}

// ---- the shared objects ----

/// `Tag`: `{"tagKey": string, "tagValue": string}` (§5). In requests a missing or `null` field
/// reads as `""`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    /// The key.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tag_key: String,
    /// The value; `""` is a real value (§6).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tag_value: String,
}

impl Tag {
    /// A tag from its key and value.
    pub fn new(tag_key: &str, tag_value: &str) -> Self {
        Self {
            tag_key: tag_key.to_owned(),
            tag_value: tag_value.to_owned(),
        }
    }
}

/// `Resource`: an item of bind/unbind bodies and the `resource` of deleteTagAssociation (§5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// The resource id, e.g. `i-abc`. Required.
    pub resource_id: String,
    /// The resource's service, e.g. `BCC`. May be missing in bind/unbind items, which fall
    /// back to the top-level `serviceType` (§2.5); deleteTagAssociation has no fallback, so
    /// its handler treats `""` as missing (`InappropriateJSON`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub service_type: String,
    /// The region, e.g. `bj`. Required.
    pub region: String,
}

// ---- requests ----

/// `TagsRequest`: the body of create (§2.1) and delete (§2.2). A missing or `null` `tags` is
/// `[]` (the handler answers `TagExceptions.TagEmpty`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagsRequest {
    /// The tags to create or delete.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<Tag>,
}

/// `CreateAssociationsByTagRequest` / `DeleteAssociationsByTagRequest`: the body of bind
/// (`POST /v1/resource`, §2.5) and unbind (`PUT /v1/resource`, §2.6). The two are the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationsByTagRequest {
    /// The tag's key; missing or `null` reads as `""` (`TagKeyEmpty`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tag_key: String,
    /// The tag's value; missing or `null` reads as `""`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tag_value: String,
    /// The service of the resources. Required.
    pub service_type: String,
    /// The resources to bind or unbind. Required.
    pub resources: Vec<Resource>,
}

/// The body of bind, `POST /v1/resource` (§2.5).
pub type CreateAssociationsByTagRequest = AssociationsByTagRequest;
/// The body of unbind, `PUT /v1/resource` (§2.6).
pub type DeleteAssociationsByTagRequest = AssociationsByTagRequest;

/// `DeleteTagAssociationRequest`: the body of `PUT /v1/tag?deleteTagAssociation` (§2.7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteTagAssociationRequest {
    /// The one resource whose bindings are all removed. Required.
    pub resource: Resource,
}

/// `ResourceWithTag`: one resource of createAndAssign with its complete tag set (§2.8).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceWithTag {
    /// The resource id. Required.
    pub resource_id: String,
    /// Stored and returned by queryFullList; missing or `null` reads as `""`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub resource_uuid: String,
    /// The resource's service. Required.
    pub service_type: String,
    /// The region. Required.
    pub region: String,
    /// The resource's complete tag set; missing or `null` (Go's nil slice) reads as `[]`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<Tag>,
    /// A string on the wire (`"floating"`, Go sends `""`); a number is accepted and kept as its
    /// decimal text; missing or `null` reads as `""`. Its meaning is undocumented.
    #[serde(default, deserialize_with = "string_or_number")]
    pub association_type: String,
}

/// `CreateAndAssignTagRequest`: the body of `POST /v1/tag?createAndAssign` (§2.8).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAndAssignTagRequest {
    /// The resources to re-tag. Required.
    pub resources: Vec<ResourceWithTag>,
}

/// `FullTagListRequest`: the body of queryFullList (§2.9). Every field is optional; an absent,
/// `null` or empty field matches anything (Go's `omitempty` cannot send `""` or `[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FullTagListRequest {
    /// Exact key; `None` or `""` = any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_key: Option<String>,
    /// Exact value; `None` or `""` = any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_value: Option<String>,
    /// Regions of the binding; empty = any.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub regions: Vec<String>,
    /// Service types of the binding; empty = any.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_types: Vec<String>,
    /// Resource ids of the binding; empty = any.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub resource_ids: Vec<String>,
}

// ---- responses ----

/// `TagsResult`: the answer of `GET /v1/tag` (§2.3); `tags` is always present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagsResult {
    /// The matching tags.
    pub tags: Vec<Tag>,
}

/// `TagResource`: one resource of a tagResources entry (§2.4). The type is `resourceType` here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResource {
    /// The resource's service, e.g. `BCC`.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// The region.
    pub region: String,
}

/// `TagAssociationWithResources`: one tag with its resources (§2.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagAssociationWithResources {
    /// The tag's key.
    pub tag_key: String,
    /// The tag's value.
    pub tag_value: String,
    /// Its resources, never empty in an answer (a tag without resources is left out).
    pub resources: Vec<TagResource>,
}

/// `TagsAssociationWithResources`: the answer of `GET /v1/tag/tagResources` (§2.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagsAssociationWithResources {
    /// One entry per tag; always present.
    pub tag_resources: Vec<TagAssociationWithResources>,
}

/// `TagAssociationFull`: one row of queryFullList (§2.9, §5), fields in Go's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagAssociationFull {
    /// The owner account's id, as a string.
    pub account_id: String,
    /// The resource id; `""` in a row for an unbound tag.
    pub resource_id: String,
    /// The `resourceUuid` given to createAndAssign, else `""`.
    pub resource_uuid: String,
    /// The region; `""` in a row for an unbound tag.
    pub region: String,
    /// The service type; `""` in a row for an unbound tag.
    pub service_type: String,
    /// The catalogue tag's id: a JSON number (Go `int64`).
    pub tag_id: i64,
    /// The tag's key.
    pub tag_key: String,
    /// The tag's value.
    pub tag_value: String,
    /// A JSON integer (Go `int`; a string breaks Go's decoder). `0` unless tagd gives it a
    /// meaning.
    pub association_type: i64,
}

/// `TagAssociationFulls`: the answer of queryFullList (§2.9).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagAssociationFulls {
    /// One row per binding (and per unbound tag when `strongAssociation=false`); always present.
    pub tag_association_fulls: Vec<TagAssociationFull>,
}

// ---- lenient field readers ----

/// Reads `null` as the type's default, anything else as the type itself.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads a string, an integer (kept as its decimal text) or `null` (`""`).
fn string_or_number<'de, D>(deserializer: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    struct StringOrNumber;

    impl Visitor<'_> for StringOrNumber {
        type Value = String;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a string, an integer or null")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<String, E> {
            Ok(value.to_owned())
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<String, E> {
            Ok(value.to_string())
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<String, E> {
            Ok(value.to_string())
        }

        fn visit_unit<E: de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
    }

    deserializer.deserialize_any(StringOrNumber)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: DeserializeOwned>(body: &str) -> T {
        parse_body(body.as_bytes()).unwrap()
    }

    fn resource(resource_id: &str, service_type: &str, region: &str) -> Resource {
        Resource {
            resource_id: resource_id.into(),
            service_type: service_type.into(),
            region: region.into(),
        }
    }

    /// `value` renders to exactly `compact` and reads back equal (responses and Go-shaped
    /// requests, which are compact).
    fn assert_round_trip<T>(value: &T, compact: &str)
    where
        T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        assert_eq!(String::from_utf8(render(value)).unwrap(), compact);
        assert_eq!(&parse::<T>(compact), value);
    }

    // ---- the spec's request examples ----

    #[test]
    fn seed_create_example() {
        let body = r#"{"tags":[{"tagKey":"key1","tagValue":"value1"},{"tagKey":"key2","tagValue":"value2"}]}"#;
        let request = TagsRequest {
            tags: vec![Tag::new("key1", "value1"), Tag::new("key2", "value2")],
        };
        assert_round_trip(&request, body);
    }

    #[test]
    fn vector_body_is_45_bytes() {
        // Spec §4.5, body of vectors A and B.
        let request = TagsRequest {
            tags: vec![Tag::new("env", "prod")],
        };
        assert_eq!(render(&request).len(), 45);
    }

    /// The bodies bce-python-sdk 0.9.79 sent (§8.1), with `json.dumps` spacing; each
    /// Content-Length is the one captured.
    #[test]
    fn python_captured_bodies() {
        let create = r#"{"tags": [{"tagKey": "env", "tagValue": "prod"}, {"tagKey": "team", "tagValue": ""}]}"#;
        assert_eq!(create.len(), 85);
        assert_eq!(
            parse::<TagsRequest>(create),
            TagsRequest {
                tags: vec![Tag::new("env", "prod"), Tag::new("team", "")],
            }
        );

        let delete = r#"{"tags": [{"tagKey": "env", "tagValue": "prod"}]}"#;
        assert_eq!(delete.len(), 49);
        assert_eq!(parse::<TagsRequest>(delete).tags, [Tag::new("env", "prod")]);

        let bind = r#"{"tagKey": "env", "tagValue": "prod", "serviceType": "BCC", "resources": [{"resourceId": "i-abc", "serviceType": "BCC", "region": "bj"}]}"#;
        assert_eq!(bind.len(), 137);
        let expected = AssociationsByTagRequest {
            tag_key: "env".into(),
            tag_value: "prod".into(),
            service_type: "BCC".into(),
            resources: vec![resource("i-abc", "BCC", "bj")],
        };
        assert_eq!(parse::<CreateAssociationsByTagRequest>(bind), expected);
        assert_eq!(parse::<DeleteAssociationsByTagRequest>(bind), expected);

        let delete_association =
            r#"{"resource": {"resourceId": "i-abc", "serviceType": "BCC", "region": "bj"}}"#;
        assert_eq!(delete_association.len(), 75);
        assert_eq!(
            parse::<DeleteTagAssociationRequest>(delete_association),
            DeleteTagAssociationRequest {
                resource: resource("i-abc", "BCC", "bj"),
            }
        );

        let create_and_assign = r#"{"resources": [{"resourceId": "i-abc", "resourceUuid": "", "serviceType": "BCC", "region": "bj", "tags": [{"tagKey": "env", "tagValue": "prod"}], "associationType": ""}]}"#;
        assert_eq!(create_and_assign.len(), 170);
        assert_eq!(
            parse::<CreateAndAssignTagRequest>(create_and_assign),
            CreateAndAssignTagRequest {
                resources: vec![ResourceWithTag {
                    resource_id: "i-abc".into(),
                    resource_uuid: String::new(),
                    service_type: "BCC".into(),
                    region: "bj".into(),
                    tags: vec![Tag::new("env", "prod")],
                    association_type: String::new(),
                }],
            }
        );

        let full_list = r#"{"tagKey": "env", "regions": ["bj"]}"#;
        assert_eq!(full_list.len(), 36);
        let request = FullTagListRequest {
            tag_key: Some("env".into()),
            regions: vec!["bj".into()],
            ..FullTagListRequest::default()
        };
        assert_eq!(parse::<FullTagListRequest>(full_list), request);
        // Rendered as Go's omitempty does.
        assert_eq!(
            String::from_utf8(render(&request)).unwrap(),
            r#"{"tagKey":"env","regions":["bj"]}"#
        );
    }

    /// Go's `json.Marshal` output: compact, zero values included, `"tags":null` for a nil slice.
    #[test]
    fn go_shaped_bodies() {
        let bind = AssociationsByTagRequest {
            tag_key: "env".into(),
            tag_value: "prod".into(),
            service_type: "BCC".into(),
            resources: vec![resource("i-abc", "BCC", "bj")],
        };
        assert_round_trip(
            &bind,
            r#"{"tagKey":"env","tagValue":"prod","serviceType":"BCC","resources":[{"resourceId":"i-abc","serviceType":"BCC","region":"bj"}]}"#,
        );
        let assign = CreateAndAssignTagRequest {
            resources: vec![ResourceWithTag {
                resource_id: "i-abc".into(),
                service_type: "BCC".into(),
                region: "bj".into(),
                ..ResourceWithTag::default()
            }],
        };
        assert_round_trip(
            &assign,
            r#"{"resources":[{"resourceId":"i-abc","resourceUuid":"","serviceType":"BCC","region":"bj","tags":[],"associationType":""}]}"#,
        );
        let nil_tags = r#"{"resources":[{"resourceId":"i-abc","resourceUuid":"","serviceType":"BCC","region":"bj","tags":null,"associationType":""}]}"#;
        assert_eq!(parse::<CreateAndAssignTagRequest>(nil_tags), assign);
        assert_round_trip(&FullTagListRequest::default(), "{}");
        assert_round_trip(
            &DeleteTagAssociationRequest {
                resource: resource("i-abc", "BCC", "bj"),
            },
            r#"{"resource":{"resourceId":"i-abc","serviceType":"BCC","region":"bj"}}"#,
        );
    }

    // ---- leniency ----

    #[test]
    fn missing_or_null_tag_fields_read_as_empty() {
        let request: TagsRequest =
            parse(r#"{"tags":[{"tagKey":"k"},{"tagKey":null,"tagValue":null},{}]}"#);
        assert_eq!(
            request.tags,
            [Tag::new("k", ""), Tag::new("", ""), Tag::new("", "")]
        );
        assert_eq!(parse::<TagsRequest>("{}").tags, []);
        assert_eq!(parse::<TagsRequest>(r#"{"tags":null}"#).tags, []);
        let bind: AssociationsByTagRequest = parse(
            r#"{"serviceType":"BCC","resources":[{"resourceId":"i","region":"bj"}],"tagKey":null}"#,
        );
        assert_eq!((bind.tag_key.as_str(), bind.tag_value.as_str()), ("", ""));
        assert_eq!(bind.resources[0].service_type, "");
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let request: TagsRequest = parse(
            r#"{"tags":[{"tagKey":"k","tagValue":"v","colour":1}],"clientToken":"x","extra":{"a":[1]}}"#,
        );
        assert_eq!(request.tags, [Tag::new("k", "v")]);
    }

    #[test]
    fn association_type_accepts_string_number_or_null() {
        let with = |value: &str| {
            let body = format!(
                r#"{{"resources":[{{"resourceId":"i","serviceType":"BCC","region":"bj","associationType":{value}}}]}}"#
            );
            parse::<CreateAndAssignTagRequest>(&body).resources[0]
                .association_type
                .clone()
        };
        assert_eq!(with(r#""floating""#), "floating");
        assert_eq!(with("1"), "1");
        assert_eq!(with("-2"), "-2");
        assert_eq!(with("null"), "");
        assert!(matches!(
            parse_body::<CreateAndAssignTagRequest>(
                br#"{"resources":[{"resourceId":"i","serviceType":"B","region":"r","associationType":[]}]}"#
            ),
            Err(BodyError::Inappropriate(_))
        ));
    }

    #[test]
    fn malformed_bodies() {
        for body in ["", "   ", "{", r#"{"tags":[}"#, "{}x", "nul", "\u{feff}{}"] {
            assert!(
                matches!(
                    parse_body::<TagsRequest>(body.as_bytes()),
                    Err(BodyError::Malformed(_))
                ),
                "{body:?}"
            );
        }
        assert!(matches!(
            parse_body::<TagsRequest>(&[b'{', 0xff, b'}']),
            Err(BodyError::Malformed(_))
        ));
    }

    #[test]
    fn inappropriate_bodies() {
        for body in [
            "[]",
            " [[]] ",
            "\"x\"",
            "null",
            "1",
            r#"{"tags":"x"}"#,
            r#"{"tags":[{"tagKey":5}]}"#,
            r#"{"tags":[null]}"#,
            r#"{"tags":[],"tags":[]}"#,
        ] {
            assert!(inappropriate::<TagsRequest>(body.as_bytes()), "{body}");
        }
        for body in [r#"{"serviceType":"BCC"}"#, r#"{"resources":[]}"#] {
            assert!(
                inappropriate::<AssociationsByTagRequest>(body.as_bytes()),
                "{body}"
            );
        }
        for body in [
            "{}",
            r#"{"resource":null}"#,
            r#"{"resource":{"serviceType":"BCC","region":"bj"}}"#,
            r#"[{"resourceId":"i","serviceType":"B","region":"r"}]"#,
        ] {
            assert!(
                inappropriate::<DeleteTagAssociationRequest>(body.as_bytes()),
                "{body}"
            );
        }
        for body in ["{}", r#"{"resources":[{"resourceId":"i","region":"bj"}]}"#] {
            assert!(
                inappropriate::<CreateAndAssignTagRequest>(body.as_bytes()),
                "{body}"
            );
        }
        assert!(inappropriate::<FullTagListRequest>(br#"{"regions":"bj"}"#));
    }

    fn inappropriate<T: DeserializeOwned + std::fmt::Debug>(body: &[u8]) -> bool {
        matches!(parse_body::<T>(body), Err(BodyError::Inappropriate(_)))
    }

    // ---- responses ----

    #[test]
    fn list_response_doc_example_and_empty() {
        assert_round_trip(
            &TagsResult {
                tags: vec![Tag::new("key1", "value1")],
            },
            r#"{"tags":[{"tagKey":"key1","tagValue":"value1"}]}"#,
        );
        assert_round_trip(&TagsResult::default(), r#"{"tags":[]}"#);
    }

    #[test]
    fn tag_resources_response_uses_resource_type() {
        let answer = TagsAssociationWithResources {
            tag_resources: vec![TagAssociationWithResources {
                tag_key: "env".into(),
                tag_value: "prod".into(),
                resources: vec![TagResource {
                    resource_type: "BCC".into(),
                    resource_id: "i-abc".into(),
                    region: "bj".into(),
                }],
            }],
        };
        assert_round_trip(
            &answer,
            r#"{"tagResources":[{"tagKey":"env","tagValue":"prod","resources":[{"resourceType":"BCC","resourceId":"i-abc","region":"bj"}]}]}"#,
        );
        assert_round_trip(
            &TagsAssociationWithResources::default(),
            r#"{"tagResources":[]}"#,
        );
    }

    #[test]
    fn full_list_response_uses_integers() {
        let answer = TagAssociationFulls {
            tag_association_fulls: vec![TagAssociationFull {
                account_id: "0123456789abcdef0123456789abcdef".into(),
                resource_id: "i-abc".into(),
                resource_uuid: String::new(),
                region: "bj".into(),
                service_type: "BCC".into(),
                tag_id: 9_007_199_254_740_993,
                tag_key: "env".into(),
                tag_value: "prod".into(),
                association_type: 0,
            }],
        };
        assert_round_trip(
            &answer,
            r#"{"tagAssociationFulls":[{"accountId":"0123456789abcdef0123456789abcdef","resourceId":"i-abc","resourceUuid":"","region":"bj","serviceType":"BCC","tagId":9007199254740993,"tagKey":"env","tagValue":"prod","associationType":0}]}"#,
        );
        let value: serde_json::Value = serde_json::from_slice(&render(&answer)).unwrap();
        let row = &value["tagAssociationFulls"][0];
        assert!(row["tagId"].is_i64() && row["associationType"].is_i64());
        assert_round_trip(
            &TagAssociationFulls::default(),
            r#"{"tagAssociationFulls":[]}"#,
        );
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn tag() -> impl Strategy<Value = Tag> {
            (".{0,8}", ".{0,8}").prop_map(|(key, value)| Tag::new(&key, &value))
        }

        proptest! {
            #[test]
            fn tags_round_trip(tags in proptest::collection::vec(tag(), 0..5)) {
                let request = TagsRequest { tags };
                prop_assert_eq!(parse_body::<TagsRequest>(&render(&request)).unwrap(), request);
            }

            #[test]
            fn parse_body_never_panics(body in proptest::collection::vec(any::<u8>(), 0..64)) {
                let _ = parse_body::<TagsRequest>(&body);
                let _ = parse_body::<CreateAndAssignTagRequest>(&body);
                let _ = parse_body::<FullTagListRequest>(&body);
            }
        }
    }
}
