import pytest

from corral.api import selectors
from corral.api.selectors import (
    DOES_NOT_EXIST,
    EXISTS,
    GT,
    IN,
    LT,
    NOT_IN,
    FieldRequirement,
    FieldSelector,
    InvalidSelector,
    Requirement,
    Selector,
    field_value,
    from_label_selector,
    from_node_selector_requirements,
    parse_field_selector,
    parse_label_selector,
    selector_from_labels,
    validate_label_key,
    validate_label_value,
)
from corral.api.v1 import apps_pb2, core_pb2, meta_pb2

# --- label keys and values --------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "app",
        "a",
        "A1",
        "app.kubernetes.io/name",
        "example.com/tier",
        "my_key-1.x",
        "k" * 63,
        "a/b",
        ("p" * 253) + "/n",
        "kubernetes.io/hostname",
        "1abc",
    ],
)
def test_validate_label_key_accepts_valid_keys(key):
    assert validate_label_key(key) is None


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", '"" is not a valid label key: it is empty'),
        ("-app", '"-app" is not a valid label key: the name must consist of letters, digits'),
        ("app-", "starting and ending with a letter or digit"),
        ("_app", "the name must consist of"),
        ("a b", "the name must consist of"),
        ("a=b", "the name must consist of"),
        ("k" * 64, "the name is longer than 63 characters (64)"),
        ("a/b/c", 'it has more than one "/"'),
        ("/app", 'the prefix before "/" is empty'),
        ("example.com/", 'the name after "/" is empty'),
        ("Example.com/app", 'the prefix "Example.com" must be a DNS subdomain'),
        ("exa_mple.com/app", "must be a DNS subdomain"),
        ("-example.com/app", "must be a DNS subdomain"),
        (("p" * 254) + "/n", "the prefix is longer than 253 characters (254)"),
        ("example.com/-x", "the name must consist of"),
        ("ü", "the name must consist of"),
    ],
)
def test_validate_label_key_explains_invalid_keys(key, message):
    problem = validate_label_key(key)
    assert problem is not None
    assert message in problem


@pytest.mark.parametrize("value", ["", "web", "v1.2.3", "a_b-c", "x" * 63, "0", "UPPER"])
def test_validate_label_value_accepts_valid_values(value):
    assert validate_label_value(value) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-web", '"-web" is not a valid label value: it must be empty or consist of letters'),
        ("web-", "starting and ending with a letter or digit"),
        ("a b", "it must be empty or consist of"),
        ("a/b", "it must be empty or consist of"),
        ("x" * 64, "longer than 63 characters (64)"),
    ],
)
def test_validate_label_value_explains_invalid_values(value, message):
    problem = validate_label_value(value)
    assert problem is not None
    assert message in problem


# --- requirements and selectors ---------------------------------------------

LABELS = {"app": "web", "tier": "frontend", "replicas": "3", "empty": ""}


@pytest.mark.parametrize(
    ("requirement", "matches"),
    [
        (Requirement("app", IN, ("web",)), True),
        (Requirement("app", IN, ("web", "api")), True),
        (Requirement("app", IN, ("api",)), False),
        (Requirement("missing", IN, ("web",)), False),
        (Requirement("empty", IN, ("",)), True),
        (Requirement("app", NOT_IN, ("api",)), True),
        (Requirement("app", NOT_IN, ("web",)), False),
        (Requirement("missing", NOT_IN, ("web",)), True),  # NotIn matches an absent key
        (Requirement("app", EXISTS), True),
        (Requirement("empty", EXISTS), True),
        (Requirement("missing", EXISTS), False),
        (Requirement("app", DOES_NOT_EXIST), False),
        (Requirement("missing", DOES_NOT_EXIST), True),
        (Requirement("replicas", GT, ("2",)), True),
        (Requirement("replicas", GT, ("3",)), False),
        (Requirement("replicas", LT, ("4",)), True),
        (Requirement("replicas", LT, ("3",)), False),
        (Requirement("replicas", GT, ("-1",)), True),
        (Requirement("missing", GT, ("1",)), False),  # Gt needs the label
        (Requirement("missing", LT, ("1",)), False),
        (Requirement("app", GT, ("1",)), False),  # a non-integer label never compares
        (Requirement("replicas", GT, ("x",)), False),
    ],
)
def test_requirement_matches_with_kubernetes_semantics(requirement, matches):
    assert requirement.matches(LABELS) is matches


def test_requirement_values_are_a_set():
    assert Requirement("a", IN, ("y", "x", "y")) == Requirement("a", IN, ("x", "y"))
    assert Requirement("a", IN, ("y", "x")).values == ("x", "y")


def test_requirement_rejects_an_unknown_operator():
    with pytest.raises(InvalidSelector, match='unknown operator "Like" for key "a"'):
        Requirement("a", "Like", ("x",))


def test_requirement_matches_a_protobuf_label_map_without_changing_it():
    pod = core_pb2.Pod()
    pod.metadata.labels["app"] = "web"
    assert Requirement("tier", NOT_IN, ("db",)).matches(pod.metadata.labels)
    assert Requirement("app", IN, ("web",)).matches(pod.metadata.labels)
    assert dict(pod.metadata.labels) == {"app": "web"}


def test_empty_selector_matches_everything():
    selector = Selector()
    assert selector.empty
    assert selector.matches({})
    assert selector.matches(LABELS)
    assert str(selector) == ""
    assert Selector.everything() == selector


def test_nothing_selector_matches_nothing():
    nothing = Selector.nothing()
    assert not nothing.empty
    assert not nothing.matches({})
    assert not nothing.matches(LABELS)
    assert nothing == selectors.NOTHING
    assert nothing != Selector()


def test_nothing_selector_does_not_round_trip_into_everything():
    with pytest.raises(InvalidSelector):
        parse_label_selector(str(Selector.nothing()))


def test_selector_is_an_and_of_its_requirements():
    selector = Selector((Requirement("app", IN, ("web",)), Requirement("tier", NOT_IN, ("db",))))
    assert selector.matches({"app": "web"})
    assert selector.matches({"app": "web", "tier": "frontend"})
    assert not selector.matches({"app": "web", "tier": "db"})
    assert not selector.matches({"tier": "frontend"})


def test_selector_order_and_duplicates_do_not_matter():
    a, b = Requirement("b", EXISTS), Requirement("a", IN, ("x",))
    assert Selector((a, b)) == Selector((b, a, b))
    assert str(Selector((a, b))) == "a=x,b"


def test_selectors_are_hashable_values():
    assert len({parse_label_selector("a=b,c"), parse_label_selector("c, a==b")}) == 1


def test_selector_from_labels_is_equality_on_every_label():
    selector = selector_from_labels({"app": "web", "tier": "frontend"})
    assert str(selector) == "app=web,tier=frontend"
    assert selector.matches({"app": "web", "tier": "frontend", "extra": "x"})
    assert not selector.matches({"app": "web"})
    assert selector_from_labels({}).empty


# --- the string syntax ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "requirements"),
    [
        ("a=b", [Requirement("a", IN, ("b",))]),
        ("a==b", [Requirement("a", IN, ("b",))]),
        ("a!=b", [Requirement("a", NOT_IN, ("b",))]),
        ("a in (x,y)", [Requirement("a", IN, ("x", "y"))]),
        ("a notin (x)", [Requirement("a", NOT_IN, ("x",))]),
        ("a", [Requirement("a", EXISTS)]),
        ("!a", [Requirement("a", DOES_NOT_EXIST)]),
        ("a=", [Requirement("a", IN, ("",))]),
        ("a in (,b)", [Requirement("a", IN, ("", "b"))]),
        ("a in(x)", [Requirement("a", IN, ("x",))]),
        ("in in (in)", [Requirement("in", IN, ("in",))]),
        ("example.com/app=web", [Requirement("example.com/app", IN, ("web",))]),
        (
            "  a = b ,\tc in ( y , x ) , ! d ,e!=f ",
            [
                Requirement("a", IN, ("b",)),
                Requirement("c", IN, ("x", "y")),
                Requirement("d", DOES_NOT_EXIST),
                Requirement("e", NOT_IN, ("f",)),
            ],
        ),
        ("a=b,a=c", [Requirement("a", IN, ("b",)), Requirement("a", IN, ("c",))]),
    ],
)
def test_parse_label_selector_reads_the_kubernetes_syntax(text, requirements):
    assert parse_label_selector(text) == Selector(tuple(requirements))


@pytest.mark.parametrize("text", ["", "   ", "\t"])
def test_parse_label_selector_of_nothing_is_the_empty_selector(text):
    assert parse_label_selector(text).empty


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("app in (a,b", 'label selector "app in (a,b": missing ")"'),
        ("app in (", 'missing ")"'),
        ("app in ()", '"app in" needs at least one value between the parentheses'),
        ("app notin ( )", '"app notin" needs at least one value'),
        ("app in a", 'expected "(" after "app in"'),
        ("app in (a b)", 'expected "," or ")" in the values of "app in", got "b"'),
        ("app in (a))", 'expected "," or the end after "app in (a)", got ")"'),
        ("a,,b", 'expected a requirement after ","'),
        ("a,", 'expected a requirement after ","'),
        (",a", 'expected a label key, got ","'),
        ("!a=b", '"!a" means "a" does not exist and takes no value; got "=" after it'),
        ("!", 'expected a label key after "!", got the end'),
        ("!!a", 'expected a label key after "!", got "!"'),
        ("a=b=c", 'expected "," or the end after "a=b", got "="'),
        ("a=b c", 'expected "," or the end after "a=b", got "c"'),
        ("a===b", 'expected a value after "a==", got "="'),
        ("a=(b)", 'expected a value after "a=", got "("'),
        ("a b", 'expected "=", "==", "!=", "in", "notin", "," or the end after "a", got "b"'),
        ("a ~ b", 'got "~"'),
        ("a IN (b)", 'got "IN"'),
        ("=b", 'expected a label key, got "="'),
        ("-app=web", '"-app" is not a valid label key: the name must consist of'),
        ("app=-web", '"-web" is not a valid label value'),
        ("app=-web", '(for key "app")'),
        ("app in (ok,bad value)", 'expected "," or ")"'),
        ("app in (ok,-bad)", '"-bad" is not a valid label value'),
        ("a>1", '">" after "a": only node selectors compare numbers'),
        ("a<1", '"<" after "a": only node selectors compare numbers'),
    ],
)
def test_parse_label_selector_rejects_bad_syntax_saying_where_and_why(text, message):
    with pytest.raises(InvalidSelector) as raised:
        parse_label_selector(text)
    assert message in str(raised.value)
    assert str(raised.value).startswith(f'label selector "{text}": ')


@pytest.mark.parametrize(
    ("text", "requirement"),
    [
        ("a>1", Requirement("a", GT, ("1",))),
        ("a < -3", Requirement("a", LT, ("-3",))),
        ("a>+3", Requirement("a", GT, ("+3",))),
    ],
)
def test_parse_label_selector_reads_gt_and_lt_when_numbers_are_allowed(text, requirement):
    assert parse_label_selector(text, allow_numeric=True) == Selector((requirement,))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a>b", 'expected an integer after "a>", got "b"'),
        ("a>", 'expected an integer after "a>", got the end'),
        ("a>1.5", 'expected an integer after "a>", got "1.5"'),
        ("a b", 'expected "=", "==", "!=", "in", "notin", ">", "<", "," or the end'),
    ],
)
def test_parse_label_selector_rejects_bad_numeric_requirements(text, message):
    with pytest.raises(InvalidSelector) as raised:
        parse_label_selector(text, allow_numeric=True)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("a=b", "a=b"),
        ("a==b", "a=b"),
        ("a notin (x)", "a!=x"),
        ("a in (y,x,y)", "a in (x,y)"),
        ("b, !a, c notin (z,y)", "!a,b,c notin (y,z)"),
        ("x in (,a)", "x in (,a)"),
        ("a=", "a="),
    ],
)
def test_selector_prints_in_canonical_string_syntax(text, canonical):
    assert str(parse_label_selector(text)) == canonical


@pytest.mark.parametrize(
    "selector",
    [
        Selector(),
        selector_from_labels({"app": "web", "example.com/tier": "fe"}),
        Selector((Requirement("a", IN, ("x", "y", "")), Requirement("b", NOT_IN, ("z", "w")))),
        Selector((Requirement("a", EXISTS), Requirement("b", DOES_NOT_EXIST))),
        Selector((Requirement("a", NOT_IN, ("",)),)),
    ],
)
def test_parse_of_str_gives_back_the_same_selector(selector):
    assert parse_label_selector(str(selector)) == selector


def test_numeric_selector_round_trips_when_numbers_are_allowed():
    selector = Selector((Requirement("cores", GT, ("4",)), Requirement("gen", LT, ("-1",))))
    assert str(selector) == "cores>4,gen<-1"
    assert parse_label_selector(str(selector), allow_numeric=True) == selector


# --- LabelSelector messages -------------------------------------------------


def label_selector(match_labels=None, *expressions):
    return meta_pb2.LabelSelector(
        match_labels=match_labels or {},
        match_expressions=[
            meta_pb2.LabelSelectorRequirement(key=key, operator=operator, values=values)
            for key, operator, values in expressions
        ],
    )


def test_from_label_selector_ands_match_labels_and_match_expressions():
    selector = from_label_selector(
        label_selector(
            {"app": "web"},
            ("tier", "In", ["frontend", "edge"]),
            ("canary", "DoesNotExist", []),
            ("env", "NotIn", ["dev"]),
            ("team", "Exists", []),
        )
    )
    assert str(selector) == "app=web,!canary,env!=dev,team,tier in (edge,frontend)"
    assert selector.matches({"app": "web", "tier": "edge", "team": "a"})
    assert not selector.matches({"app": "web", "tier": "edge", "team": "a", "canary": "1"})
    assert not selector.matches({"app": "web", "tier": "edge"})
    assert not selector.matches({"app": "api", "tier": "edge", "team": "a"})


def test_from_label_selector_of_an_empty_message_matches_everything():
    assert from_label_selector(meta_pb2.LabelSelector()).empty


def test_from_label_selector_of_none_matches_nothing():
    selector = from_label_selector(None)
    assert selector == Selector.nothing()
    assert not selector.matches({})


def test_an_unset_selector_field_reads_as_empty_so_callers_must_pass_none():
    deployment = apps_pb2.Deployment()
    assert from_label_selector(deployment.spec.selector).empty
    assert not deployment.spec.HasField("selector")


@pytest.mark.parametrize(
    ("message", "error", "field"),
    [
        (
            label_selector(None, ("tier", "Like", ["a"])),
            'unknown operator "Like" in matchExpressions[0] (use In, NotIn, Exists, DoesNotExist)',
            "matchExpressions[0].operator",
        ),
        (
            label_selector(None, ("a", "Exists", []), ("tier", "", [])),
            "missing operator in matchExpressions[1] (use In, NotIn, Exists, DoesNotExist)",
            "matchExpressions[1].operator",
        ),
        (
            label_selector(None, ("tier", "in", ["a"])),
            'unknown operator "in" in matchExpressions[0]',
            "matchExpressions[0].operator",
        ),
        (
            label_selector(None, ("cores", "Gt", ["1"])),
            'unknown operator "Gt" in matchExpressions[0]',
            "matchExpressions[0].operator",
        ),
        (
            label_selector(None, ("tier", "In", [])),
            'operator "In" in matchExpressions[0] needs at least one value',
            "matchExpressions[0].values",
        ),
        (
            label_selector(None, ("tier", "NotIn", [])),
            'operator "NotIn" in matchExpressions[0] needs at least one value',
            "matchExpressions[0].values",
        ),
        (
            label_selector(None, ("tier", "Exists", ["a"])),
            'operator "Exists" in matchExpressions[0] takes no values, got ["a"]',
            "matchExpressions[0].values",
        ),
        (
            label_selector(None, ("tier", "DoesNotExist", ["a", "b"])),
            'operator "DoesNotExist" in matchExpressions[0] takes no values, got ["a", "b"]',
            "matchExpressions[0].values",
        ),
        (
            label_selector(None, ("-tier", "Exists", [])),
            'invalid key in matchExpressions[0]: "-tier" is not a valid label key',
            "matchExpressions[0].key",
        ),
        (
            label_selector(None, ("", "Exists", [])),
            'invalid key in matchExpressions[0]: "" is not a valid label key: it is empty',
            "matchExpressions[0].key",
        ),
        (
            label_selector(None, ("tier", "In", ["ok", "not ok"])),
            'invalid value in matchExpressions[0].values[1]: "not ok" is not a valid label value',
            "matchExpressions[0].values[1]",
        ),
        (
            label_selector({"bad key": "x"}),
            'invalid key in matchLabels: "bad key" is not a valid label key',
            "matchLabels",
        ),
        (
            label_selector({"app": "-web"}),
            'invalid value in matchLabels["app"]: "-web" is not a valid label value',
            "matchLabels[app]",
        ),
    ],
)
def test_from_label_selector_rejects_bad_messages_naming_the_part(message, error, field):
    with pytest.raises(InvalidSelector) as raised:
        from_label_selector(message)
    assert error in str(raised.value)
    assert raised.value.field == field


# --- node selector requirements --------------------------------------------


def node_requirements(*rows):
    return [
        core_pb2.NodeSelectorRequirement(key=key, operator=operator, values=values)
        for key, operator, values in rows
    ]


def test_node_selector_requirements_allow_gt_and_lt():
    selector = from_node_selector_requirements(
        node_requirements(
            ("cores", "Gt", ["4"]),
            ("gen", "Lt", ["10"]),
            ("zone", "In", ["a", "b"]),
            ("gpu", "DoesNotExist", []),
        )
    )
    assert selector.matches({"cores": "8", "gen": "3", "zone": "a"})
    assert not selector.matches({"cores": "4", "gen": "3", "zone": "a"})
    assert not selector.matches({"cores": "8", "gen": "10", "zone": "a"})
    assert not selector.matches({"cores": "8", "gen": "3", "zone": "a", "gpu": "1"})
    assert not selector.matches({"gen": "3", "zone": "a"})


def test_no_node_selector_requirements_match_every_node():
    assert from_node_selector_requirements([]).empty


def test_node_selector_values_may_be_longer_than_label_values():
    name = "node-" + "x" * 100
    selector = from_node_selector_requirements(
        node_requirements(("metadata.name", "In", [name])), where="matchFields"
    )
    assert selector.matches({"metadata.name": name})


@pytest.mark.parametrize(
    ("rows", "where", "error"),
    [
        (
            [("cores", "Gt", [])],
            "matchExpressions",
            'operator "Gt" in matchExpressions[0] needs exactly one integer value, got []',
        ),
        (
            [("cores", "Lt", ["1", "2"])],
            "matchExpressions",
            'operator "Lt" in matchExpressions[0] needs exactly one integer value, got ["1", "2"]',
        ),
        (
            [("zone", "In", ["a"]), ("cores", "Gt", ["four"])],
            "matchExpressions",
            'operator "Gt" in matchExpressions[1] needs exactly one integer value, got ["four"]',
        ),
        (
            [("zone", "Near", ["a"])],
            "matchExpressions",
            'unknown operator "Near" in matchExpressions[0] '
            "(use In, NotIn, Exists, DoesNotExist, Gt, Lt)",
        ),
        (
            [("zone", "In", [])],
            "matchFields",
            'operator "In" in matchFields[0] needs at least one value',
        ),
        (
            [("zone", "Exists", ["a"])],
            "matchExpressions",
            'operator "Exists" in matchExpressions[0] takes no values',
        ),
        (
            [("bad key", "Exists", [])],
            "matchExpressions",
            'invalid key in matchExpressions[0]: "bad key" is not a valid label key',
        ),
    ],
)
def test_node_selector_requirements_reject_bad_input_naming_the_part(rows, where, error):
    with pytest.raises(InvalidSelector) as raised:
        from_node_selector_requirements(node_requirements(*rows), where=where)
    assert error in str(raised.value)


# --- field selectors --------------------------------------------------------


def make_pod(name="web", namespace="default", node="", phase="Pending"):
    pod = core_pb2.Pod()
    pod.metadata.name = name
    pod.metadata.namespace = namespace
    pod.spec.node_name = node
    pod.status.phase = phase
    return pod


@pytest.mark.parametrize(
    ("text", "requirements"),
    [
        ("metadata.name=web", [FieldRequirement("metadata.name", "=", "web")]),
        ("metadata.name==web", [FieldRequirement("metadata.name", "=", "web")]),
        ("metadata.name!=web", [FieldRequirement("metadata.name", "!=", "web")]),
        ("spec.nodeName=", [FieldRequirement("spec.nodeName", "=", "")]),
        (
            " spec.nodeName = n1 , status.phase!=Running",
            [
                FieldRequirement("spec.nodeName", "=", "n1"),
                FieldRequirement("status.phase", "!=", "Running"),
            ],
        ),
        ("metadata.name=a\\,b\\=c\\\\", [FieldRequirement("metadata.name", "=", "a,b=c\\")]),
        ("spec.node_name=n1", [FieldRequirement("spec.node_name", "=", "n1")]),
    ],
)
def test_parse_field_selector_reads_equality_requirements(text, requirements):
    assert parse_field_selector(text, core_pb2.Pod) == FieldSelector(tuple(requirements))


@pytest.mark.parametrize("text", ["", "  "])
def test_empty_field_selector_matches_everything(text):
    selector = parse_field_selector(text)
    assert selector.empty
    assert selector.matches(make_pod())


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("metadata.name=web", True),
        ("metadata.name=api", False),
        ("metadata.name!=api", True),
        ("metadata.name=web,metadata.namespace=default", True),
        ("metadata.name=web,metadata.namespace=other", False),
        ("spec.nodeName=", True),  # unscheduled pods
        ("spec.nodeName!=", False),
        ("status.phase=Pending", True),
        ("spec.hostNetwork=false", True),  # bools compare as "true"/"false"
        ("spec.hostNetwork=False", False),
        ("spec.priority=", True),  # an unset optional field is ""
        ("spec.priority=0", False),
        ("metadata.generation=0", True),  # plain numbers compare by their decimal form
    ],
)
def test_field_selector_matches_pods(text, matches):
    assert parse_field_selector(text, core_pb2.Pod).matches(make_pod()) is matches


def test_field_value_formats_scalars_as_kubernetes_strings():
    pod = make_pod(node="n1")
    pod.spec.host_network = True
    pod.spec.priority = 0
    pod.metadata.generation = 7
    assert field_value(pod, "spec.nodeName") == "n1"
    assert field_value(pod, "spec.hostNetwork") == "true"
    assert field_value(pod, "spec.priority") == "0"  # set, even to zero
    assert field_value(pod, "metadata.generation") == "7"


def test_field_value_reads_events_by_involved_object():
    event = core_pb2.Event()
    event.involved_object.name = "web"
    event.involved_object.kind = "Pod"
    selector = parse_field_selector(
        "involvedObject.name=web,involvedObject.kind=Pod", core_pb2.Event
    )
    assert selector.matches(event)
    assert field_value(event, "involvedObject.name") == "web"


def test_field_value_does_not_set_unset_submessages():
    pod = core_pb2.Pod()
    assert field_value(pod, "status.phase") == ""
    assert not pod.HasField("status")


def test_field_value_rejects_an_unknown_path():
    with pytest.raises(InvalidSelector, match=r"Pod has no field spec\.foo"):
        field_value(core_pb2.Pod(), "spec.foo")


def test_field_selector_without_a_type_fails_at_match_time_on_an_unknown_path():
    selector = parse_field_selector("spec.foo=x")
    with pytest.raises(InvalidSelector, match=r"Pod has no field spec\.foo"):
        selector.matches(make_pod())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spec.foo=x", 'field selector "spec.foo=x": Pod has no field spec.foo'),
        ("foo=x", 'field selector "foo=x": Pod has no field foo'),
        ("metadata.name=a,spec.foo=x", 'field selector "spec.foo=x": Pod has no field spec.foo'),
        (
            "spec.containers=x",
            'field selector "spec.containers=x": Pod field spec.containers is a list, '
            "not a single value",
        ),
        ("metadata.labels=x", "Pod field metadata.labels is a map, not a single value"),
        ("spec=x", "Pod field spec is an object, not a single value"),
        (
            "metadata.name.first=x",
            "Pod has no field metadata.name.first (metadata.name has no fields)",
        ),
        ("metadata.creationTimestamp=x", "is an object, not a single value"),
    ],
)
def test_parse_field_selector_checks_paths_against_the_message_type(text, message):
    with pytest.raises(InvalidSelector) as raised:
        parse_field_selector(text, core_pb2.Pod)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metadata.name", 'field selector "metadata.name": expected path=value'),
        ("=web", 'field selector "=web": missing the field path before "="'),
        ("!=web", 'missing the field path before "!="'),
        ("a!b", '"!" must be followed by "=" (use path!=value)'),
        ("a..b=1", '"a..b" is not a field path like metadata.name'),
        (".a=1", "is not a field path"),
        ("a=b=c", '"=" in a value must be escaped as "\\="'),
        ("a=b\\x", 'unknown escape "\\x"'),
        ("a=b\\", "the value ends with a lone backslash"),
        ("a\\=b=c", "a backslash can only escape a character in the value"),
        ("a=b,,c=d", 'field selector "a=b,,c=d": empty requirement between commas'),
        ("a=b,", "empty requirement between commas"),
    ],
)
def test_parse_field_selector_rejects_bad_syntax(text, message):
    with pytest.raises(InvalidSelector) as raised:
        parse_field_selector(text)
    assert message in str(raised.value)


def test_field_requirement_rejects_an_unknown_operator():
    with pytest.raises(InvalidSelector, match='unknown field selector operator "<"'):
        FieldRequirement("a", "<", "1")


@pytest.mark.parametrize(
    "text",
    ["metadata.name=web", "spec.nodeName=,status.phase!=Running", "metadata.name=a\\,b\\=c\\\\"],
)
def test_field_selector_round_trips_through_its_string(text):
    selector = parse_field_selector(text, core_pb2.Pod)
    assert parse_field_selector(str(selector), core_pb2.Pod) == selector


def test_field_selector_prints_in_canonical_order():
    selector = parse_field_selector("status.phase!=Running,metadata.name==web")
    assert str(selector) == "metadata.name=web,status.phase!=Running"


def test_field_value_resolves_each_path_once_per_type():
    selectors._resolved_paths.clear()
    for _ in range(3):
        field_value(make_pod(), "metadata.name")
        field_value(core_pb2.Node(), "metadata.name")
    assert set(selectors._resolved_paths) == {
        (core_pb2.Pod, "metadata.name"),
        (core_pb2.Node, "metadata.name"),
    }
