"""Tag service 2018-08-28: every error of the contract a user can trigger, and per-resource failures.

Each whole-request error is checked for its exact Code, HTTP status, Message and HostId
(docs/aliyun-tag-service.md, "Errors"), and afterwards for "nothing changed": the caller's resources,
catalogue and preset tags, its resources in another region, and another account's resources all read back as
before. Raw signed requests (V1 and V3) send what the SDKs will not; the SDKs are checked for how they surface
the same errors.
"""

from dataclasses import dataclass
from typing import Callable

import pytest

from harness import (MSG_QUOTA_PER_RESOURCE, REGION, RawTag, TagAccount, arn, expect_tag_error, msg_arn_account,
                     msg_arn_format, msg_arn_region, msg_invalid_parameter, msg_tag_key, msg_tag_value, rid,
                     tag_service_params as P)

OTHER_REGION = "cn-shanghai"


class Ctx:
    """A victim account with a known state, another account, and tokens to misuse."""

    def __init__(self, server):
        self.server = server
        self.acct = TagAccount(server)
        self.other = TagAccount(server)
        api = self.acct.client("raw-v1")
        self.a_id, self.b_id = rid("rm"), rid("i")
        self.A = self.acct.arn("rds", "instance", self.a_id)
        self.B = self.acct.arn("ecs", "instance", self.b_id)
        api.tag_ok([self.A], {"env": "prod", "team": "core"})
        api.tag_ok([self.B], {"env": "dev"})
        api.tag_ok([arn("rds", "instance", self.a_id, region=OTHER_REGION)], {"env": "sh"}, region=OTHER_REGION)
        api.create_tags([{"Key": "preset-k", "Description": "d", "TagValueParamList": [{"Value": "pv"}]},
                         {"Key": "bare-k"}])
        other = self.other.client("raw-v1")
        other.tag_ok([arn("rds", "instance", rid())], {"o": "1"})
        other.tag_ok([arn("rds", "instance", rid())], {"o": "2", "p": "x"})
        # Valid tokens of the victim's listings, and "foreign" ones: another account's.
        self.token = api.list_resources(page_size=1)["NextToken"]
        self.keys_token = api.list_keys(page_size=1)["NextToken"]
        self.values_token = api.list_values("env", page_size=1)["NextToken"]
        self.foreign_token = other.list_resources(page_size=1)["NextToken"]
        self.foreign_keys_token = other.list_keys(page_size=1)["NextToken"]
        self.foreign_values_token = other.list_values("o", page_size=1)["NextToken"]
        self.foreign_bytag_token = other.by_tag("ALIYUN::RDS::INSTANCE", "o", max_result=1)["NextToken"]
        assert all((self.token, self.keys_token, self.values_token, self.foreign_token, self.foreign_keys_token,
                    self.foreign_values_token, self.foreign_bytag_token))
        self.baseline = self.state()

    def fresh(self, region="*") -> str:
        """An ARN of a resource nobody has tagged."""
        return arn("rds", "instance", rid(), region=region)

    def state(self) -> dict:
        api = self.acct.client("raw-v1")
        return {
            "victim": api.snapshot(),
            "victim-other-region": api.all_resources(page_size=1000, region=OTHER_REGION),
            "other": self.other.client("raw-v1").snapshot(),
        }


@pytest.fixture(scope="module")
def ctx(server) -> Ctx:
    return Ctx(server)


def garble(token: str) -> str:
    i = len(token) // 2
    return token[:i] + ("7" if token[i].lower() != "7" else "Q") + token[i + 1:]


@dataclass
class Case:
    id: str
    action: str
    params: Callable  # ctx -> [(name, value)]
    code: str
    message: Callable | None = None  # ctx -> message, when it names an input


def with_arn(action, bad):
    """A good ARN and a bad one (bad: ctx -> ARN) together, in TagResources or UntagResources."""
    def build(c):
        if action == "TagResources":
            return P(action, arns=[c.A, bad(c)], tags={"k": "v"})
        return P(action, arns=[c.A, bad(c)], keys=["env"])
    return build


BAD_ARNS = {
    "bare-id": "rm-123456",
    "no-slash": "arn:acs:rds:cn-hangzhou:*:instance",
    "too-few-fields": "arn:acs:rds:cn-hangzhou:instance/rm-1",
    "empty-id": "arn:acs:rds:cn-hangzhou:*:instance/",
    "space-in-id": "arn:acs:rds:cn-hangzhou:*:instance/rm 1",
    "tab-in-id": "arn:acs:rds:cn-hangzhou:*:instance/rm\t1",
    "id-257": "arn:acs:rds:cn-hangzhou:*:instance/" + "r" * 257,
    "aws": "arn:aws:rds:cn-hangzhou:*:instance/rm-1",
    "bad-product": "arn:acs:rd$s:cn-hangzhou:*:instance/rm-1",
    "empty-product": "arn:acs::cn-hangzhou:*:instance/rm-1",
    "bad-type": "arn:acs:rds:cn-hangzhou:*:inst.ance/rm-1",
    "empty-type": "arn:acs:rds:cn-hangzhou:*:/rm-1",
}
BAD_TAGS = {
    "empty-map": "{}",
    "array": '["a"]',
    "array-of-maps": '[{"k": "v"}]',
    "broken": '{"k":',
    "number-value": '{"k": 1}',
    "null-value": '{"k": null}',
    "list-value": '{"k": ["v"]}',
    "k=v": "k=v",
    "json-string": '"k"',
}
BAD_KEYS = {"empty": "", "blank": "   ", "129": "k" * 129, "aliyun": "aliyun-key", "url": "http://example.com",
            "contains-url": "see-https://example.com"}
# The Tag service takes values of 1..128 characters (spec §4), unlike the RDS API: "" is refused too.
BAD_VALUES = {"129": "v" * 129, "acs": "acs:thing", "url": "http://example.com", "whitespace": "   ", "empty": ""}


def _foreign_arn(c):
    return f"arn:acs:rds:{REGION}:{c.other.id}:instance/rm-x1"


CASES = []
# --- TagResources ------------------------------------------------------------------------------
CASES += [
    Case("tag/no-region", "TagResources", lambda c: P("TagResources", None, [c.fresh()], {"k": "v"}),
         "MissingParameter.RegionId"),
    Case("tag/no-arn", "TagResources", lambda c: P("TagResources", tags={"k": "v"}), "MissingParameter.ResourceARN"),
    Case("tag/no-tags", "TagResources", lambda c: P("TagResources", arns=[c.A, c.fresh()]), "MissingParameter.Tags"),
    Case("tag/11-pairs", "TagResources",
         lambda c: P("TagResources", arns=[c.A, c.fresh()], tags={f"k{i}": "v" for i in range(11)}),
         "NumberExceed.Tags"),
    Case("tag/51-arns", "TagResources",
         lambda c: P("TagResources", arns=[c.A] + [c.fresh() for _ in range(50)], tags={"k": "v"}),
         "NumberExceed.ResourceIds"),
    Case("tag/duplicate-key", "TagResources",
         lambda c: P("TagResources", arns=[c.A, c.fresh()], tags='{"k": "1", "k": "2"}'), "Duplicate.TagKey"),
    Case("tag/system-key", "TagResources",
         lambda c: P("TagResources", arns=[c.A, c.fresh()], tags={"acs:rm:rgId": "rg-1"}), "NoPermission.SystemTag"),
    Case("tag/system-key-among-others", "TagResources",
         lambda c: P("TagResources", arns=[c.A, c.fresh()], tags={"ok": "1", "acs:tag:createdby": "me"}),
         "NoPermission.SystemTag"),
    Case("tag/region-mismatch", "TagResources",
         with_arn("TagResources", lambda c: arn("rds", "instance", c.a_id, region=OTHER_REGION)),
         "InvalidResourceARN.Region", lambda c: msg_arn_region(arn("rds", "instance", c.a_id, region=OTHER_REGION))),
    Case("tag/foreign-account", "TagResources", with_arn("TagResources", _foreign_arn),
         "InvalidResourceARN.Account", lambda c: msg_arn_account(_foreign_arn(c))),
    Case("tag/unknown-account", "TagResources",
         with_arn("TagResources", lambda c: "acs:rds:*:1234567890123456:instance/rm-x2"),
         "InvalidResourceARN.Account", lambda c: msg_arn_account("acs:rds:*:1234567890123456:instance/rm-x2")),
]
CASES += [Case(f"tag/tags-{name}", "TagResources",
               (lambda t: lambda c: P("TagResources", arns=[c.A, c.fresh()], tags=t))(t), "InvalidParameter.Tags")
          for name, t in BAD_TAGS.items()]
CASES += [Case(f"tag/key-{name}", "TagResources",
               (lambda k: lambda c: P("TagResources", arns=[c.A, c.fresh()], tags={"ok": "1", k: "v"}))(k),
               "InvalidParameter.TagKey", (lambda k: lambda c: msg_tag_key(k))(k))
          for name, k in BAD_KEYS.items()]
CASES += [Case(f"tag/value-{name}", "TagResources",
               (lambda v: lambda c: P("TagResources", arns=[c.A, c.fresh()], tags={"ok": "1", "k": v}))(v),
               "InvalidParameter.TagValue", (lambda v: lambda c: msg_tag_value(v))(v))
          for name, v in BAD_VALUES.items()]
CASES += [Case(f"tag/arn-{name}", "TagResources", with_arn("TagResources", (lambda b: lambda c: b)(b)),
               "InvalidResourceARN.FormatError", (lambda b: lambda c: msg_arn_format(b))(b))
          for name, b in BAD_ARNS.items()]
# --- UntagResources ----------------------------------------------------------------------------
CASES += [
    Case("untag/no-region", "UntagResources", lambda c: P("UntagResources", None, [c.A], keys=["env"]),
         "MissingParameter.RegionId"),
    Case("untag/no-arn", "UntagResources", lambda c: P("UntagResources", keys=["env"]),
         "MissingParameter.ResourceARN"),
    Case("untag/no-tagkey", "UntagResources", lambda c: P("UntagResources", arns=[c.A]), "MissingParameter.TagKey"),
    Case("untag/21-keys", "UntagResources",
         lambda c: P("UntagResources", arns=[c.A], keys=["env"] + [f"k{i}" for i in range(20)]), "NumberExceed.Tags"),
    Case("untag/51-arns", "UntagResources",
         lambda c: P("UntagResources", arns=[c.A] + [c.fresh() for _ in range(50)], keys=["env"]),
         "NumberExceed.ResourceIds"),
    Case("untag/system-key", "UntagResources",
         lambda c: P("UntagResources", arns=[c.A, c.B], keys=["env", "acs:rm:rgId"]), "NoPermission.SystemTag"),
    Case("untag/arn-format", "UntagResources", with_arn("UntagResources", lambda c: BAD_ARNS["no-slash"]),
         "InvalidResourceARN.FormatError", lambda c: msg_arn_format(BAD_ARNS["no-slash"])),
    Case("untag/region-mismatch", "UntagResources",
         with_arn("UntagResources", lambda c: arn("rds", "instance", c.a_id, region=OTHER_REGION)),
         "InvalidResourceARN.Region", lambda c: msg_arn_region(arn("rds", "instance", c.a_id, region=OTHER_REGION))),
    Case("untag/foreign-account", "UntagResources", with_arn("UntagResources", _foreign_arn),
         "InvalidResourceARN.Account", lambda c: msg_arn_account(_foreign_arn(c))),
]
# --- ListTagResources --------------------------------------------------------------------------
LTR = "ListTagResources"
CASES += [
    Case("list/no-region", LTR, lambda c: P(LTR, None), "MissingParameter.RegionId"),
    Case("list/11-pairs", LTR, lambda c: P(LTR, tags={f"k{i}": "v" for i in range(11)}), "NumberExceed.Tags"),
    Case("list/51-arns", LTR, lambda c: P(LTR, arns=[c.A] + [c.fresh() for _ in range(50)]),
         "NumberExceed.ResourceIds"),
    Case("list/tags-broken", LTR, lambda c: P(LTR, tags='{"env":'), "InvalidParameter.Tags"),
    Case("list/tags-array", LTR, lambda c: P(LTR, tags='["env"]'), "InvalidParameter.Tags"),
    Case("list/category", LTR, lambda c: P(LTR, category="Bogus"), "InvalidParameter.Category"),
    Case("list/page-size-0", LTR, lambda c: P(LTR, page_size=0), "InvalidParameter",
         lambda c: msg_invalid_parameter("PageSize")),
    Case("list/page-size-1001", LTR, lambda c: P(LTR, page_size=1001), "InvalidParameter",
         lambda c: msg_invalid_parameter("PageSize")),
    Case("list/page-size-text", LTR, lambda c: P(LTR, page_size="ten"), "InvalidParameter",
         lambda c: msg_invalid_parameter("PageSize")),
    Case("list/token-forged", LTR, lambda c: P(LTR, token="abc"), "Invalid.NextToken"),
    Case("list/token-garbled", LTR, lambda c: P(LTR, page_size=1, token=garble(c.token)), "Invalid.NextToken"),
    Case("list/token-truncated", LTR, lambda c: P(LTR, page_size=1, token=c.token[:-4]), "Invalid.NextToken"),
    Case("list/token-foreign", LTR, lambda c: P(LTR, page_size=1, token=c.foreign_token), "Invalid.NextToken"),
    Case("list/token-of-list-tag-keys", LTR, lambda c: P(LTR, page_size=1, token=c.keys_token), "Invalid.NextToken"),
    Case("list/token-other-region", LTR, lambda c: P(LTR, OTHER_REGION, page_size=1, token=c.token),
         "Invalid.NextToken"),
    Case("list/tags-duplicate-key", LTR, lambda c: P(LTR, tags='{"env": "prod", "env": "dev"}'), "Duplicate.TagKey"),
    Case("list/tags-empty-map", LTR, lambda c: P(LTR, tags="{}"), "InvalidParameter.Tags"),
    Case("list/foreign-account", LTR, lambda c: P(LTR, arns=[c.A, _foreign_arn(c)]), "InvalidResourceARN.Account",
         lambda c: msg_arn_account(_foreign_arn(c))),
    Case("list/arn-format", LTR, lambda c: P(LTR, arns=[c.A, BAD_ARNS["bare-id"]]), "InvalidResourceARN.FormatError",
         lambda c: msg_arn_format(BAD_ARNS["bare-id"])),
    Case("list/region-mismatch", LTR,
         lambda c: P(LTR, arns=[arn("rds", "instance", c.a_id, region=OTHER_REGION)]), "InvalidResourceARN.Region",
         lambda c: msg_arn_region(arn("rds", "instance", c.a_id, region=OTHER_REGION))),
]
# --- ListTagKeys / ListTagValues ---------------------------------------------------------------
LTK, LTV = "ListTagKeys", "ListTagValues"
CASES += [
    Case("keys/no-region", LTK, lambda c: P(LTK, None), "MissingParameter.RegionId"),
    Case("keys/category", LTK, lambda c: P(LTK, category="bogus"), "InvalidParameter.Category"),
    Case("keys/resource-type-short", LTK, lambda c: P(LTK, resource_type="INSTANCE"),
         "InvalidParameter.ResourceType"),
    Case("keys/resource-type-two-parts", LTK, lambda c: P(LTK, resource_type="ALIYUN::RDS"),
         "InvalidParameter.ResourceType"),
    Case("keys/query-type", LTK, lambda c: P(LTK, query_type="Everything"), "InvalidParameter",
         lambda c: msg_invalid_parameter("QueryType")),
    Case("keys/fuzzy-type", LTK, lambda c: P(LTK, fuzzy_type="LIKE", key_filter="e"), "FuzzyQuery.NotSupport"),
    Case("keys/page-size-0", LTK, lambda c: P(LTK, page_size=0), "InvalidParameter",
         lambda c: msg_invalid_parameter("PageSize")),
    Case("keys/page-size-1001", LTK, lambda c: P(LTK, page_size=1001), "InvalidParameter",
         lambda c: msg_invalid_parameter("PageSize")),
    Case("keys/token-forged", LTK, lambda c: P(LTK, token="abc"), "Invalid.NextToken"),
    Case("keys/token-garbled", LTK, lambda c: P(LTK, page_size=1, token=garble(c.keys_token)), "Invalid.NextToken"),
    Case("keys/token-foreign", LTK, lambda c: P(LTK, page_size=1, token=c.foreign_keys_token), "Invalid.NextToken"),
    Case("keys/token-of-list-tag-resources", LTK, lambda c: P(LTK, page_size=1, token=c.token), "Invalid.NextToken"),
    Case("keys/token-other-region", LTK, lambda c: P(LTK, OTHER_REGION, page_size=1, token=c.keys_token),
         "Invalid.NextToken"),
    Case("values/no-region", LTV, lambda c: P(LTV, None, key="env"), "MissingParameter.RegionId"),
    Case("values/no-key", LTV, lambda c: P(LTV), "MissingParameter.TagKey"),
    Case("values/meta-unknown-key", LTV, lambda c: P(LTV, key="no-such-preset", query_type="MetaTag"),
         "MetaTagKeyNotFound"),
    Case("values/meta-resource-only-key", LTV, lambda c: P(LTV, key="env", query_type="MetaTag"),
         "MetaTagKeyNotFound"),
    Case("values/resource-type", LTV, lambda c: P(LTV, key="env", resource_type="rds"),
         "InvalidParameter.ResourceType"),
    Case("values/fuzzy-type", LTV, lambda c: P(LTV, key="env", fuzzy_type="LIKE", value_filter="p"),
         "FuzzyQuery.NotSupport"),
    Case("values/page-size-1001", LTV, lambda c: P(LTV, key="env", page_size=1001), "InvalidParameter",
         lambda c: msg_invalid_parameter("PageSize")),
    Case("values/query-type", LTV, lambda c: P(LTV, key="env", query_type="Nope"), "InvalidParameter",
         lambda c: msg_invalid_parameter("QueryType")),
    Case("values/token-forged", LTV, lambda c: P(LTV, key="env", token="abc"), "Invalid.NextToken"),
    Case("values/token-garbled", LTV, lambda c: P(LTV, key="env", page_size=1, token=garble(c.values_token)),
         "Invalid.NextToken"),
    Case("values/token-foreign", LTV, lambda c: P(LTV, key="env", page_size=1, token=c.foreign_values_token),
         "Invalid.NextToken"),
    Case("values/token-of-list-tag-keys", LTV, lambda c: P(LTV, key="env", page_size=1, token=c.keys_token),
         "Invalid.NextToken"),
]
# --- CreateTags / DeleteTag ----------------------------------------------------------------------
CT, DT = "CreateTags", "DeleteTag"


def ct(*entries):
    return lambda c: P(CT, entries=list(entries))


CASES += [
    Case("create/no-region", CT, lambda c: P(CT, None, entries=[{"Key": "new-k"}]), "MissingParameter.RegionId"),
    Case("create/no-list", CT, lambda c: P(CT), "MissingParameter.TagKeyValueParamList"),
    Case("create/entry-without-key", CT, ct({"Key": "new-k"}, {"Description": "no key"}), "MissingParameter.Key"),
    Case("create/value-without-value", CT,
         ct({"Key": "new-k", "TagValueParamList": [{"Value": "x"}, {"Description": "no value"}]}),
         "MissingParameter.Value"),
    # N = 1..10 keys and M = 1..10 values per key (spec §3.4).
    Case("create/11-keys", CT, ct(*({"Key": f"new-k{i}"} for i in range(11))), "NumberExceed.Tags"),
    Case("create/11-values", CT, ct({"Key": "new-k", "TagValueParamList": [{"Value": f"v{i}"} for i in range(11)]}),
         "NumberExceed.Tags"),
    Case("create/key-acs", CT, ct({"Key": "acs:preset"}), "InvalidParameter.Key"),
    Case("create/key-aliyun", CT, ct({"Key": "new-k"}, {"Key": "aliyun-preset"}), "InvalidParameter.Key"),
    Case("create/key-129", CT, ct({"Key": "k" * 129}), "InvalidParameter.Key"),
    Case("create/key-url", CT, ct({"Key": "http://example.com"}), "InvalidParameter.Key"),
    Case("create/value-129", CT, ct({"Key": "new-k", "TagValueParamList": [{"Value": "v" * 129}]}),
         "InvalidParameter.Value"),
    Case("create/value-acs", CT, ct({"Key": "new-k", "TagValueParamList": [{"Value": "ok"}, {"Value": "acs:x"}]}),
         "InvalidParameter.Value"),
    Case("create/value-empty", CT, ct({"Key": "new-k", "TagValueParamList": [{"Value": "ok"}, {"Value": ""}]}),
         "InvalidParameter.Value"),
    Case("create/value-empty-on-existing-key", CT, ct({"Key": "preset-k", "TagValueParamList": [{"Value": ""}]}),
         "InvalidParameter.Value"),
    Case("create/value-url-on-existing-key", CT,
         ct({"Key": "preset-k", "Description": "changed", "TagValueParamList": [{"Value": "https://example.com"}]}),
         "InvalidParameter.Value"),
    Case("delete/no-region", DT, lambda c: P(DT, None, key="bare-k"), "MissingParameter.RegionId"),
    Case("delete/no-key", DT, lambda c: P(DT), "MissingParameter.Key"),
    Case("delete/unknown-key", DT, lambda c: P(DT, key="no-such-preset"), "MetaTagKeyNotFound"),
    Case("delete/resource-only-key", DT, lambda c: P(DT, key="env"), "MetaTagKeyNotFound"),
    Case("delete/unknown-value", DT, lambda c: P(DT, key="preset-k", value="no-such-value"), "MetaTagKeyNotFound"),
    Case("delete/key-with-values", DT, lambda c: P(DT, key="preset-k"), "MetaTagKeyHasValue"),
]
# --- ListResourcesByTag --------------------------------------------------------------------------
LRT = "ListResourcesByTag"
RDS = "ALIYUN::RDS::INSTANCE"
CASES += [
    Case("bytag/no-region", LRT, lambda c: P(LRT, None, resource_type=RDS, key_filter="env"),
         "MissingParameter.RegionId"),
    Case("bytag/no-resource-type", LRT, lambda c: P(LRT, key_filter="env"), "MissingParameter.ResourceType"),
    Case("bytag/no-key", LRT, lambda c: P(LRT, resource_type=RDS, value_filter="prod"),
         "MissingParameter.TagFilter.Key"),
    Case("bytag/resource-type", LRT, lambda c: P(LRT, resource_type="INSTANCE", key_filter="env"),
         "InvalidParameter.ResourceType"),
    Case("bytag/fuzzy-prefix", LRT, lambda c: P(LRT, resource_type=RDS, key_filter="env", fuzzy_type="PREFIX"),
         "FuzzyQuery.NotSupport"),
    Case("bytag/fuzzy-like", LRT, lambda c: P(LRT, resource_type=RDS, key_filter="env", fuzzy_type="LIKE"),
         "FuzzyQuery.NotSupport"),
    Case("bytag/max-result-0", LRT, lambda c: P(LRT, resource_type=RDS, key_filter="env", max_result=0),
         "InvalidParameter", lambda c: msg_invalid_parameter("MaxResult")),
    Case("bytag/max-result-1001", LRT, lambda c: P(LRT, resource_type=RDS, key_filter="env", max_result=1001),
         "InvalidParameter", lambda c: msg_invalid_parameter("MaxResult")),
    Case("bytag/include-all-tags", LRT,
         lambda c: P(LRT, resource_type=RDS, key_filter="env", include_all_tags="maybe"),
         "InvalidParameter", lambda c: msg_invalid_parameter("IncludeAllTags")),
    Case("bytag/token-forged", LRT, lambda c: P(LRT, resource_type=RDS, key_filter="env", token="abc"),
         "Invalid.NextToken"),
    Case("bytag/token-foreign", LRT,
         lambda c: P(LRT, resource_type=RDS, key_filter="o", max_result=1, token=c.foreign_bytag_token),
         "Invalid.NextToken"),
    Case("bytag/token-of-list-tag-resources", LRT,
         lambda c: P(LRT, resource_type=RDS, key_filter="env", max_result=1, token=c.token), "Invalid.NextToken"),
]

assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("signer", ["v1", "v3"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_error_table(server, ctx, case, signer):
    client = RawTag(server, ctx.acct.ak, ctx.acct.secret, signer)
    params = case.params(ctx)
    message = case.message(ctx) if case.message else None
    expect_tag_error(lambda: client.call(case.action, params), case.code, message)
    assert ctx.state() == ctx.baseline, f"{case.id}: state changed after a failed request"


# --- The SDKs surface the same errors ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["legacy", "tea", "tea-v2"])
def test_sdk_errors(ctx, kind):
    api = ctx.acct.client(kind)
    c = ctx
    expect_tag_error(lambda: api.tag([c.A], "{}"), "InvalidParameter.Tags")
    expect_tag_error(lambda: api.tag([c.A], {"acs:x": "1"}), "NoPermission.SystemTag")
    expect_tag_error(lambda: api.tag([c.A], '{"k": "1", "k": "2"}'), "Duplicate.TagKey")
    expect_tag_error(lambda: api.tag([c.A], {f"k{i}": "v" for i in range(11)}), "NumberExceed.Tags")
    expect_tag_error(lambda: api.tag([c.A], {"ok": "1", "aliyun-k": "v"}), "InvalidParameter.TagKey",
                     msg_tag_key("aliyun-k"))
    expect_tag_error(lambda: api.tag([c.A], {"ok": "1", "empty": ""}), "InvalidParameter.TagValue", msg_tag_value(""))
    expect_tag_error(lambda: api.untag([c.A], ["acs:rm:rgId"]), "NoPermission.SystemTag")
    expect_tag_error(lambda: api.list_resources(arns=[_foreign_arn(c)]), "InvalidResourceARN.Account",
                     msg_arn_account(_foreign_arn(c)))
    expect_tag_error(lambda: api.list_resources(token="forged"), "Invalid.NextToken")
    expect_tag_error(lambda: api.list_keys(page_size=1001), "InvalidParameter", msg_invalid_parameter("PageSize"))
    expect_tag_error(lambda: api.list_values("no-such-preset", query_type="MetaTag"), "MetaTagKeyNotFound")
    expect_tag_error(lambda: api.delete_tag("preset-k"), "MetaTagKeyHasValue")
    expect_tag_error(lambda: api.by_tag("ALIYUN::RDS::INSTANCE", "env", fuzzy_type="PREFIX"), "FuzzyQuery.NotSupport")
    if kind != "legacy":  # the legacy SDK always sends its client's RegionId
        expect_tag_error(lambda: api.tag([c.A], {"k": "v"}, region=None), "MissingParameter.RegionId")
        expect_tag_error(lambda: api.list_keys(region=None), "MissingParameter.RegionId")
    assert ctx.state() == ctx.baseline


# --- Per-resource failures: HTTP 200 with FailedResources ---------------------------------------

def _fill(api, a, n, prefix="q"):
    keys = [f"{prefix}{i:02d}" for i in range(n)]
    for i in range(0, n, 10):
        api.tag_ok([a], {k: "v" for k in keys[i:i + 10]})
    return {k: "v" for k in keys}


@pytest.mark.parametrize("kind", ["legacy", "tea", "raw-v1"])
def test_quota_per_resource(tag_account, kind):
    acct = tag_account
    api = acct.client(kind)
    full_id, other_id = rid(), rid()
    full, other = acct.arn("rds", "instance", full_id), acct.arn("rds", "instance", other_id)
    before = _fill(api, full, 18)

    body = api.tag([full, other], {"n1": "1", "n2": "2", "n3": "3"})
    assert body["RequestId"]
    assert body["FailedResources"] == {"FailedResource": [
        {"ResourceARN": full, "Result": {"Code": "QuotaExceed.TagsPerResource", "Message": MSG_QUOTA_PER_RESOURCE}}]}
    assert api.tags_of(full) == before
    assert api.tags_of(other) == {"n1": "1", "n2": "2", "n3": "3"}

    # Exactly 20 is allowed; overwriting keys does not count twice.
    api.tag_ok([full], {"n1": "1", "n2": "2"})
    api.tag_ok([full], {"q00": "new", "n1": "new"})
    assert len(api.tags_of(full)) == 20

    # Answered with the canonical ARN whatever form was sent.
    body = api.tag([arn("rds", "instance", full_id, prefix=""), arn("rds", "instance", other_id)], {"n4": "4"})
    assert [(f["ResourceARN"], f["Result"]["Code"]) for f in body["FailedResources"]["FailedResource"]] == \
        [(full, "QuotaExceed.TagsPerResource")]
    assert api.tags_of(other) == {"n1": "1", "n2": "2", "n3": "3", "n4": "4"}

    # Both over the limit: both listed, nothing changes, still HTTP 200.
    _fill(api, other, 16, prefix="w")
    assert len(api.tags_of(other)) == 20
    snap = api.all_resources()
    body = api.tag([other, full], {"x": "1"})
    failed = sorted((f["ResourceARN"], f["Result"]["Code"], f["Result"]["Message"])
                    for f in body["FailedResources"]["FailedResource"])
    assert failed == sorted([(full, "QuotaExceed.TagsPerResource", MSG_QUOTA_PER_RESOURCE),
                             (other, "QuotaExceed.TagsPerResource", MSG_QUOTA_PER_RESOURCE)])
    assert api.all_resources() == snap
    assert "x" not in [k["Key"] for k in api.all_keys()]


# --- System tags --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["legacy", "tea"])
def test_system_tags(tag_account, kind):
    acct = tag_account
    api = acct.client(kind)
    r = rid()
    a = acct.arn("rds", "instance", r)
    api.tag_ok([a], {"env": "prod"})
    for key in ("acs:rm:rgId", "acs:tag:createdby", "acs:"):
        expect_tag_error(lambda: api.tag([a], {key: "x"}), "NoPermission.SystemTag")
        expect_tag_error(lambda: api.untag([a], [key]), "NoPermission.SystemTag")
    expect_tag_error(lambda: api.untag([a], ["env", "acs:rm:rgId"]), "NoPermission.SystemTag")
    assert api.tags_of(a) == {"env": "prod"}
    # Categories: a custom-only resource has nothing under System (and is omitted there).
    for cat in ("Custom", "custom", "CUSTOM", "All", "all"):
        assert api.all_resources(category=cat) == [(a, [("env", "prod", "Custom")])], cat
    for cat in ("System", "system"):
        assert api.all_resources(category=cat) == [], cat
    for cat in ("custom", "Custom", "all", "ALL"):
        assert [k["Key"] for k in api.all_keys(category=cat)] == ["env"], cat
    assert api.all_keys(category="system") == []
    assert api.all_keys(category="SYSTEM", query_type="MetaTag") == []
