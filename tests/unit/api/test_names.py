"""Name, label-key, label-value and annotation checks word their errors like upstream."""

from k3trio.api import names


def test_dns1123_subdomain_message_is_upstream_text() -> None:
    assert names.is_dns1123_subdomain("example.com") == []
    assert names.is_dns1123_subdomain("Bad_Name") == [
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    ]
    assert names.is_dns1123_subdomain("a" * 254)[0] == "must be no more than 253 characters"


def test_dns1123_label_and_dots() -> None:
    assert names.is_dns1123_label("my-ns") == []
    assert names.is_dns1123_label("a.b") == ["must not contain dots"]
    (msg,) = names.is_dns1123_label("-x")
    assert msg.startswith("a lowercase RFC 1123 label must consist of")
    assert "(e.g. 'my-name',  or '123-abc', regex used for validation is" in msg
    assert names.is_dns1123_label("a" * 64) == ["must be no more than 63 characters"]


def test_dns1035_label() -> None:
    assert names.is_dns1035_label("svc-1") == []
    (msg,) = names.is_dns1035_label("1svc")
    assert msg == (
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
        "with an alphabetic character, and end with an alphanumeric character (e.g. "
        "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    )


def test_qualified_names() -> None:
    assert names.is_qualified_name("app") == []
    assert names.is_qualified_name("app.kubernetes.io/name") == []
    assert names.is_qualified_name("/x") == ["prefix part must be non-empty"]
    assert names.is_qualified_name("Example.com/x") == [
        "prefix part " + names.is_dns1123_subdomain("Example.com")[0]
    ]
    empty = names.is_qualified_name("a/")
    assert empty[0] == "name part must be non-empty"
    assert empty[1].startswith("name part must consist of alphanumeric characters")
    assert names.is_qualified_name("a/b/c")[0].startswith("a qualified name must consist of")
    assert names.is_qualified_name("a/b/c")[0].endswith(
        "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    )
    assert names.is_qualified_name("x" * 64) == ["name part must be no more than 63 characters"]


def test_label_values() -> None:
    assert names.is_valid_label_value("") == []
    assert names.is_valid_label_value("v1.2_x-y") == []
    assert names.is_valid_label_value("-x") == [
        "a valid label must be an empty string or consist of alphanumeric characters, '-', "
        "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  "
        "or 'my_value',  or '12345', regex used for validation is "
        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
    ]
    assert names.is_valid_label_value("x\n") != []


def test_generate_name_prefix_may_end_in_dash() -> None:
    assert names.name_is_dns_subdomain("web-", prefix=True) == []
    assert names.name_is_dns_subdomain("web-", prefix=False) != []
    assert names.name_is_dns1035_label("svc-", prefix=True) == []


def test_path_segment_names() -> None:
    assert names.is_valid_path_segment_name("..") == ["may not be '..'"]
    assert names.is_valid_path_segment_name("a/b%c") == ["may not contain '/'", "may not contain '%'"]


def test_labels_and_annotations_maps() -> None:
    assert names.label_errors({"app": "web"}) == []
    errs = names.label_errors({"bad key!": "ok", "k": "bad value!"})
    assert [bad for bad, _ in errs] == ["bad key!", "bad value!"]
    assert names.annotation_errors({"Example.COM/Key": "anything at all"}) == []
    big = {"k": "x" * (256 * 1024)}
    assert names.annotations_size(big) == 256 * 1024 + 1
    assert names.annotation_errors(big) == [("", "must have at most 262144 bytes")]
