//! Tests of query decoding and of the router: one test per operation of spec §2, bare flags
//! and present-but-empty values, the §3.4 faults, and property tests.

use super::*;

fn route_raw(method: &str, path: &str, raw_query: &str) -> Result<Operation, RouteError> {
    route(method, path, &Query::parse(raw_query).unwrap())
}

// ---- decoding ----

#[test]
fn bare_flag_and_empty_value_are_told_apart() {
    let bare = Query::parse("create").unwrap();
    let empty = Query::parse("create=").unwrap();
    assert_eq!(bare.params(), [QueryParam::flag("create")]);
    assert_eq!(empty.params(), [QueryParam::new("create", "")]);
    // Both are present, with the empty value.
    assert!(bare.contains("create") && empty.contains("create"));
    assert_eq!(bare.get("create"), Some(""));
    assert_eq!(empty.get("create"), Some(""));
    assert_eq!(bare.to_wire(), "create");
    assert_eq!(empty.to_wire(), "create=");
}

#[test]
fn absent_and_present_but_empty_are_told_apart() {
    let query = Query::parse("tagKey=&region=bj").unwrap();
    assert_eq!(query.get("tagKey"), Some(""));
    assert_eq!(query.get("tagValue"), None);
    assert!(!query.contains("tagValue"));
    assert_eq!(query.get("region"), Some("bj"));
}

#[test]
fn decodes_utf8_and_both_hex_cases() {
    // Spec §4.5 C on the wire, and Node 1.0.7's lowercase escapes of unreserved characters.
    let query = Query::parse("tagKey=%E9%A1%B9%E7%9B%AE%20a%2Fb&tagValue=").unwrap();
    assert_eq!(query.get("tagKey"), Some("项目 a/b"));
    let node = Query::parse("tagKey=node%2dlang%2e%5f%7e%28%29%27%21%2a").unwrap();
    assert_eq!(node.get("tagKey"), Some("node-lang._~()'!*"));
    let python = Query::parse("tagKey=%E9%A1%B9%E7%9B%AE%2Fa-b.c_d").unwrap();
    assert_eq!(python.get("tagKey"), Some("项目/a-b.c_d"));
}

#[test]
fn plus_is_literal_and_encoded_separators_are_data() {
    let query = Query::parse("tagKey=a+b&tagValue=x%26y%3Dz").unwrap();
    assert_eq!(query.get("tagKey"), Some("a+b"));
    assert_eq!(query.get("tagValue"), Some("x&y=z"));
    assert_eq!(query.params().len(), 2);
}

#[test]
fn empty_segments_are_skipped_and_first_repeat_wins() {
    let query = Query::parse("&a=1&&a=2&").unwrap();
    assert_eq!(query.params().len(), 2);
    assert_eq!(query.get("a"), Some("1"));
    assert_eq!(Query::parse("").unwrap(), Query::default());
}

#[test]
fn invalid_uris_are_refused() {
    for raw in ["a=%", "a=%4", "a=%zz", "%G1=x", "a=%4g"] {
        assert_eq!(
            Query::parse(raw),
            Err(QueryError::InvalidPercentEncoding),
            "{raw}"
        );
    }
    for raw in ["a=%FF", "a=%C3", "%E9%A1=x"] {
        assert_eq!(Query::parse(raw), Err(QueryError::InvalidUtf8), "{raw}");
    }
    assert_eq!(
        decode_path("/v1/%zz"),
        Err(QueryError::InvalidPercentEncoding)
    );
    assert_eq!(decode_path("/v1/%74ag").as_deref(), Ok("/v1/tag"));
}

#[test]
fn to_wire_uses_uppercase_escapes_and_round_trips() {
    let query = Query::from_params(vec![
        QueryParam::new("tagKey", "项目 a/b*~"),
        QueryParam::new("tagValue", ""),
        QueryParam::flag("create"),
    ]);
    let wire = query.to_wire();
    assert_eq!(
        wire,
        "tagKey=%E9%A1%B9%E7%9B%AE%20a%2Fb%2A~&tagValue=&create"
    );
    assert_eq!(Query::parse(&wire).unwrap(), query);
}

// ---- routing: one test per operation of §2 ----

#[test]
fn create_tags_with_bare_or_empty_flag() {
    // Go and Java send `?create`, Python and Node `?create=` (§1.1).
    for query in [
        "create",
        "create=",
        "create=ignored",
        "clientToken=x&create",
    ] {
        assert_eq!(
            route_raw("PUT", "/v1/tag", query),
            Ok(Operation::CreateTags),
            "{query}"
        );
    }
}

#[test]
fn delete_tags() {
    assert_eq!(
        route_raw("PUT", "/v1/tag", "delete"),
        Ok(Operation::DeleteTags)
    );
    assert_eq!(
        route_raw("PUT", "/v1/tag", "delete="),
        Ok(Operation::DeleteTags)
    );
}

#[test]
fn delete_tag_association() {
    for query in ["deleteTagAssociation", "deleteTagAssociation="] {
        assert_eq!(
            route_raw("PUT", "/v1/tag", query),
            Ok(Operation::DeleteTagAssociation)
        );
    }
}

#[test]
fn create_and_assign() {
    for query in ["createAndAssign", "createAndAssign="] {
        assert_eq!(
            route_raw("POST", "/v1/tag", query),
            Ok(Operation::CreateAndAssign)
        );
    }
}

#[test]
fn list_tags_filters() {
    let list = |query| match route_raw("GET", "/v1/tag", query) {
        Ok(Operation::UserTagList(filter)) => filter,
        other => panic!("{query}: {other:?}"),
    };
    assert_eq!(list(""), TagFilter::default());
    // tagKey empty means every key; tagValue empty means only the empty value (§2.3).
    assert_eq!(
        list("tagKey=&tagValue="),
        TagFilter {
            tag_key: None,
            tag_value: Some(String::new()),
        }
    );
    assert_eq!(
        list("tagKey=env"),
        TagFilter {
            tag_key: Some("env".into()),
            tag_value: None,
        }
    );
    assert_eq!(
        list("tagValue=prod"),
        TagFilter {
            tag_key: None,
            tag_value: Some("prod".into()),
        }
    );
    // A bare `tagValue` is present and empty too.
    assert_eq!(list("tagValue").tag_value.as_deref(), Some(""));
}

#[test]
fn tag_resources_filters() {
    let op = route_raw(
        "GET",
        "/v1/tag/tagResources",
        "region=bj&resourceType=BCC&tagKey=env",
    );
    assert_eq!(
        op,
        Ok(Operation::TagsResources(TagResourcesFilter {
            tags: TagFilter {
                tag_key: Some("env".into()),
                tag_value: None,
            },
            region: Some("bj".into()),
            resource_type: Some("BCC".into()),
        }))
    );
    let op = route_raw(
        "GET",
        "/v1/tag/tagResources",
        "region=&resourceType=&tagValue=",
    );
    assert_eq!(
        op,
        Ok(Operation::TagsResources(TagResourcesFilter {
            tags: TagFilter {
                tag_key: None,
                tag_value: Some(String::new()),
            },
            region: None,
            resource_type: None,
        }))
    );
    assert_eq!(
        route_raw("POST", "/v1/tag/tagResources", ""),
        Err(RouteError::MethodNotAllowed)
    );
}

#[test]
fn bind_and_unbind_resources() {
    assert_eq!(
        route_raw("POST", "/v1/resource", ""),
        Ok(Operation::CreateAssociationsByTag)
    );
    assert_eq!(
        route_raw("PUT", "/v1/resource", ""),
        Ok(Operation::DeleteAssociationsByTag)
    );
    assert_eq!(
        route_raw("GET", "/v1/resource", ""),
        Err(RouteError::MethodNotAllowed)
    );
}

#[test]
fn query_full_list_on_both_paths() {
    let full = |strong_association, path| {
        Ok(Operation::QueryFullList {
            strong_association,
            path,
        })
    };
    use FullListPath::{Legacy, V2};
    assert_eq!(
        route_raw("POST", "/v1/tag/queryFullList", "strongAssociation=true"),
        full(true, V2)
    );
    assert_eq!(
        route_raw("POST", "/v1/tag/queryFullList", "strongAssociation=FALSE"),
        full(false, V2)
    );
    assert_eq!(
        route_raw("POST", "/v1/tag/queryFullList", ""),
        full(false, V2)
    );
    assert_eq!(
        route_raw("POST", "/v1/tag", "queryFullList&strongAssociation=True"),
        full(true, Legacy)
    );
    assert_eq!(
        route_raw("POST", "/v1/tag", "queryFullList="),
        full(false, Legacy)
    );
    for bad in [
        "strongAssociation=yes",
        "strongAssociation=",
        "strongAssociation",
    ] {
        assert_eq!(
            route_raw("POST", "/v1/tag/queryFullList", bad),
            Err(RouteError::InvalidStrongAssociation),
            "{bad}"
        );
        assert_eq!(
            route_raw("POST", "/v1/tag", &format!("queryFullList&{bad}")),
            Err(RouteError::InvalidStrongAssociation),
            "{bad}"
        );
    }
    assert_eq!(
        route_raw("GET", "/v1/tag/queryFullList", ""),
        Err(RouteError::MethodNotAllowed)
    );
}

#[test]
fn action_flag_faults() {
    assert_eq!(
        route_raw("PUT", "/v1/tag", ""),
        Err(RouteError::NoActionFlag)
    );
    assert_eq!(
        route_raw("POST", "/v1/tag", "tagKey=x"),
        Err(RouteError::NoActionFlag)
    );
    assert_eq!(
        route_raw("PUT", "/v1/tag", "create&delete"),
        Err(RouteError::SeveralActionFlags)
    );
    assert_eq!(
        route_raw("PUT", "/v1/tag", "create&queryFullList"),
        Err(RouteError::SeveralActionFlags)
    );
    // The same flag twice is still one flag.
    assert_eq!(
        route_raw("PUT", "/v1/tag", "create&create="),
        Ok(Operation::CreateTags)
    );
    // Flags are case-sensitive keys.
    assert_eq!(
        route_raw("PUT", "/v1/tag", "Create"),
        Err(RouteError::NoActionFlag)
    );
    // A flag of the other method.
    assert_eq!(
        route_raw("PUT", "/v1/tag", "createAndAssign"),
        Err(RouteError::MethodNotAllowed)
    );
    assert_eq!(
        route_raw("POST", "/v1/tag", "create"),
        Err(RouteError::MethodNotAllowed)
    );
    assert_eq!(
        route_raw("GET", "/v1/tag", "create"),
        Err(RouteError::MethodNotAllowed)
    );
    assert_eq!(
        route_raw("DELETE", "/v1/tag", "create"),
        Err(RouteError::MethodNotAllowed)
    );
}

#[test]
fn unknown_paths() {
    for path in [
        "/",
        "/v1",
        "/v1/",
        "/v1/tag/",
        "/v1/tags",
        "/v1/tag/other",
        "/x/v2",
        "",
    ] {
        assert_eq!(
            route_raw("GET", path, ""),
            Err(RouteError::NotFound),
            "{path}"
        );
    }
    for (path, version) in [("/v2/tag", "v2"), ("/v10", "v10"), ("/v0/resource", "v0")] {
        assert_eq!(
            route_raw("GET", path, ""),
            Err(RouteError::InvalidVersion {
                version: version.into()
            }),
            "{path}"
        );
    }
}

#[test]
fn operation_names_and_kinds() {
    assert_eq!(Operation::CreateTags.name(), "CreateTags");
    assert!(Operation::CreateAndAssign.is_write());
    assert!(!Operation::UserTagList(TagFilter::default()).is_write());
    assert!(
        !Operation::QueryFullList {
            strong_association: true,
            path: FullListPath::V2
        }
        .is_write()
    );
}

mod props {
    use super::super::*;
    use proptest::prelude::*;

    fn params() -> impl Strategy<Value = Vec<QueryParam>> {
        proptest::collection::vec(
            (".{0,6}", proptest::option::of(".{0,6}"))
                .prop_map(|(key, value)| QueryParam { key, value }),
            0..6,
        )
        // An empty bare key is an empty segment on the wire and is skipped by design.
        .prop_map(|list| {
            list.into_iter()
                .filter(|param| !param.key.is_empty() || param.value.is_some())
                .collect()
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in ".{0,40}") {
            let _ = Query::parse(&raw);
        }

        #[test]
        fn wire_form_round_trips(list in params()) {
            let query = Query::from_params(list);
            prop_assert_eq!(Query::parse(&query.to_wire()).unwrap(), query);
        }

        #[test]
        fn route_never_panics(
            method in prop::sample::select(vec!["GET", "PUT", "POST", "DELETE"]),
            path in "(/v[0-9]{0,2})?(/tag|/resource|/x)?(/tagResources|/queryFullList)?/?",
            raw in "[a-zA-Z=&]{0,30}",
        ) {
            let _ = route(method, &path, &Query::parse(&raw).unwrap());
        }
    }
}
