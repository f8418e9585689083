"""The service proxy's rule builder: exact iptables-restore text for representative services."""

from __future__ import annotations

from typing import Any

import pytest

from k3trio.agent.proxy.rules import (
    NodeInfo,
    build_payload,
    chain_name,
    cleanup_payload,
    endpoints_for,
    owned_chain,
    service_ports,
)

NODE = NodeInfo("node-a", "10.42.0.0/16")


def svc(name: str = "web", *, ports: list[dict[str, Any]] | None = None, ns: str = "default",
        **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"clusterIP": "10.43.0.5", "type": "ClusterIP",
                         "ports": ports or [{"name": "http", "port": 80, "protocol": "TCP"}]}
    s.update(spec)
    return {"metadata": {"namespace": ns, "name": name}, "spec": s}


def ep(ip: str, node: str = "node-a", ready: bool = True, terminating: bool = False,
       serving: bool | None = None) -> dict[str, Any]:
    cond = {"ready": ready, "serving": ready if serving is None else serving,
            "terminating": terminating}
    return {"addresses": [ip], "conditions": cond, "nodeName": node}


def slice_(eps: list[dict[str, Any]], *, name: str = "web", ns: str = "default",
           ports: list[dict[str, Any]] | None = None, suffix: str = "abc") -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": f"{name}-{suffix}",
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "ports": ports if ports is not None else [{"name": "http", "port": 8080,
                                                       "protocol": "TCP"}],
            "endpoints": eps}


def lines(payload: str, table: str) -> list[str]:
    out, cur = [], ""
    for line in payload.splitlines():
        if line.startswith("*"):
            cur = line[1:]
        elif cur == table and line != "COMMIT":
            out.append(line)
    return out


def rules_of(payload: str, table: str, chain: str) -> list[str]:
    return [r for r in lines(payload, table) if r.startswith(f"-A {chain} ")]


KEY = "default/web:httpTCP"
SVC = chain_name("SVC", KEY)
SVL = chain_name("SVL", KEY)
EXT = chain_name("EXT", KEY)


def sep(address: str) -> str:
    return chain_name("SEP", KEY, address)


def test_chain_names_are_stable_and_short() -> None:
    assert SVC == chain_name("SVC", "default/web:http" + "TCP")
    assert SVC.startswith("K3TRIO-SVC-") and len(SVC) == 27
    assert chain_name("SVC", "default/web:httpUDP") != SVC
    assert owned_chain(SVC) and owned_chain("K3TRIO-SERVICES")
    assert not owned_chain("K3TRIO-NWPLCY-X") and not owned_chain("KUBE-SERVICES")


def test_clusterip_two_endpoints_exact_rules() -> None:
    p = build_payload([svc()], [slice_([ep("10.42.0.7"), ep("10.42.0.6", "node-b")])], NODE)
    a, b = sep("10.42.0.6:8080"), sep("10.42.0.7:8080")
    assert rules_of(p, "nat", "K3TRIO-SERVICES") == [
        f'-A K3TRIO-SERVICES -m comment --comment "default/web:http cluster IP" '
        f'-d 10.43.0.5/32 -p tcp -m tcp --dport 80 -j {SVC}',
        '-A K3TRIO-SERVICES -m comment --comment "k3trio service nodeports; NOTE: this must '
        'be the last rule in this chain" -m addrtype --dst-type LOCAL -j K3TRIO-NODEPORTS',
    ]
    assert rules_of(p, "nat", SVC) == [
        f'-A {SVC} -m comment --comment "default/web:http cluster IP" ! -s 10.42.0.0/16 '
        f'-d 10.43.0.5/32 -p tcp -m tcp --dport 80 -j K3TRIO-MARK-MASQ',
        f'-A {SVC} -m comment --comment "default/web:http -> 10.42.0.6:8080" -m statistic '
        f'--mode random --probability 0.5000000000 -j {a}',
        f'-A {SVC} -m comment --comment "default/web:http -> 10.42.0.7:8080" -j {b}',
    ]
    assert rules_of(p, "nat", a) == [
        f'-A {a} -m comment --comment "default/web:http" -s 10.42.0.6/32 -j K3TRIO-MARK-MASQ',
        f'-A {a} -m comment --comment "default/web:http" -p tcp -m tcp -j DNAT '
        f'--to-destination 10.42.0.6:8080',
    ]
    assert f":{a} - [0:0]" in lines(p, "nat")
    assert rules_of(p, "filter", "K3TRIO-SERVICES") == []
    assert rules_of(p, "nat", "K3TRIO-POSTROUTING") == [
        "-A K3TRIO-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
        "-A K3TRIO-POSTROUTING -j MARK --xor-mark 0x4000",
        '-A K3TRIO-POSTROUTING -m comment --comment "k3trio service traffic requiring SNAT" '
        "-j MASQUERADE --random-fully",
    ]


def test_probabilities_spread_evenly() -> None:
    eps = [ep(f"10.42.0.{i}") for i in range(1, 5)]
    p = build_payload([svc()], [slice_(eps)], NODE)
    probs = [r.split("--probability ")[1].split()[0] for r in rules_of(p, "nat", SVC)
             if "--probability" in r]
    assert probs == ["0.2500000000", "0.3333333333", "0.5000000000"]
    assert "--probability" not in rules_of(p, "nat", SVC)[-1]


def test_no_endpoints_rejects_cluster_ip_and_node_port() -> None:
    s = svc(type="NodePort", ports=[{"name": "http", "port": 80, "protocol": "TCP",
                                     "nodePort": 30080}])
    p = build_payload([s], [slice_([])], NODE)
    assert rules_of(p, "filter", "K3TRIO-SERVICES") == [
        '-A K3TRIO-SERVICES -m comment --comment "default/web:http has no endpoints" '
        "-d 10.43.0.5/32 -p tcp -m tcp --dport 80 -j REJECT"]
    assert rules_of(p, "filter", "K3TRIO-EXTERNAL-SERVICES") == [
        '-A K3TRIO-EXTERNAL-SERVICES -m comment --comment "default/web:http has no endpoints" '
        "-m addrtype --dst-type LOCAL -p tcp -m tcp --dport 30080 -j REJECT"]
    assert not any(c in p for c in (SVC, EXT))


def test_not_ready_endpoints_are_skipped_terminating_serving_used_as_fallback() -> None:
    assert [e.ip for e in endpoints_for(service_ports(svc())[0],
                                        [slice_([ep("10.42.0.1", ready=False),
                                                 ep("10.42.0.2")])])] == ["10.42.0.2"]
    only_terminating = [slice_([ep("10.42.0.1", ready=False, serving=True, terminating=True),
                                ep("10.42.0.3", ready=False)])]
    assert [e.ip for e in endpoints_for(service_ports(svc())[0], only_terminating)] == [
        "10.42.0.1"]


def test_named_target_ports_resolve_per_endpoint() -> None:
    slices = [slice_([ep("10.42.0.1")], ports=[{"name": "http", "port": 8080,
                                                 "protocol": "TCP"}], suffix="a"),
              slice_([ep("10.42.0.2")], ports=[{"name": "http", "port": 9090,
                                                 "protocol": "TCP"}], suffix="b")]
    p = build_payload([svc(ports=[{"name": "http", "port": 80, "protocol": "TCP",
                                   "targetPort": "web"}])], slices, NODE)
    dnat = [r.split("--to-destination ")[1] for r in lines(p, "nat") if "DNAT" in r]
    assert dnat == ["10.42.0.1:8080", "10.42.0.2:9090"]


def test_session_affinity_uses_recent() -> None:
    s = svc(sessionAffinity="ClientIP",
            sessionAffinityConfig={"clientIP": {"timeoutSeconds": 600}})
    p = build_payload([s], [slice_([ep("10.42.0.1")])], NODE)
    a = sep("10.42.0.1:8080")
    assert rules_of(p, "nat", SVC)[1] == (
        f'-A {SVC} -m comment --comment "default/web:http -> 10.42.0.1:8080" -m recent '
        f"--name {a} --rcheck --seconds 600 --reap -j {a}")
    assert rules_of(p, "nat", a)[1] == (
        f'-A {a} -m comment --comment "default/web:http" -p tcp -m recent --name {a} --set '
        f"-m tcp -j DNAT --to-destination 10.42.0.1:8080")
    default = build_payload([svc(sessionAffinity="ClientIP")], [slice_([ep("10.42.0.1")])], NODE)
    assert "--seconds 10800" in default


def test_internal_traffic_policy_local() -> None:
    s = svc(internalTrafficPolicy="Local")
    p = build_payload([s], [slice_([ep("10.42.0.1", "node-a"), ep("10.42.0.2", "node-b")])],
                      NODE)
    assert f"-j {SVL}" in rules_of(p, "nat", "K3TRIO-SERVICES")[0]
    assert SVC not in p
    assert [r.split("-j ")[-1] for r in rules_of(p, "nat", SVL)] == [
        "K3TRIO-MARK-MASQ", sep("10.42.0.1:8080")]
    none_here = build_payload([s], [slice_([ep("10.42.0.2", "node-b")])], NODE)
    assert rules_of(none_here, "filter", "K3TRIO-SERVICES") == [
        '-A K3TRIO-SERVICES -m comment --comment "default/web:http has no local endpoints" '
        "-d 10.43.0.5/32 -p tcp -m tcp --dport 80 -j DROP"]


def test_external_traffic_policy_local_node_port() -> None:
    s = svc(type="NodePort", externalTrafficPolicy="Local",
            ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}])
    p = build_payload([s], [slice_([ep("10.42.0.1", "node-a"), ep("10.42.0.2", "node-b")])],
                      NODE)
    assert rules_of(p, "nat", "K3TRIO-NODEPORTS") == [
        f'-A K3TRIO-NODEPORTS -m comment --comment "default/web:http" -p tcp -m tcp '
        f"--dport 30080 -j {EXT}"]
    assert rules_of(p, "nat", EXT) == [
        f'-A {EXT} -m comment --comment "pod traffic for default/web:http external '
        f'destinations" -s 10.42.0.0/16 -j {SVC}',
        f'-A {EXT} -m comment --comment "masquerade LOCAL traffic for default/web:http '
        f'external destinations" -m addrtype --src-type LOCAL -j K3TRIO-MARK-MASQ',
        f'-A {EXT} -m comment --comment "route LOCAL traffic for default/web:http external '
        f'destinations" -m addrtype --src-type LOCAL -j {SVC}',
        f"-A {EXT} -j {SVL}",
    ]
    assert [r.split("-j ")[-1] for r in rules_of(p, "nat", SVL)] == [sep("10.42.0.1:8080")]
    # The cluster IP still reaches every endpoint.
    assert f"-j {SVC}" in rules_of(p, "nat", "K3TRIO-SERVICES")[0]
    remote_only = build_payload([s], [slice_([ep("10.42.0.2", "node-b")])], NODE)
    assert rules_of(remote_only, "filter", "K3TRIO-EXTERNAL-SERVICES") == [
        '-A K3TRIO-EXTERNAL-SERVICES -m comment --comment "default/web:http has no local '
        'endpoints" -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 30080 -j DROP']
    assert EXT not in remote_only


def test_cluster_policy_external_ips_and_load_balancer() -> None:
    s = svc(type="LoadBalancer", externalIPs=["192.0.2.10"],
            ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}])
    s["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.20", "ipMode": "VIP"},
                                                {"ip": "192.0.2.30", "ipMode": "Proxy"}]}}
    p = build_payload([s], [slice_([ep("10.42.0.1")])], NODE)
    svcs = rules_of(p, "nat", "K3TRIO-SERVICES")
    assert svcs[1] == (f'-A K3TRIO-SERVICES -m comment --comment "default/web:http external IP" '
                       f"-d 192.0.2.10/32 -p tcp -m tcp --dport 80 -j {EXT}")
    assert svcs[2] == (f'-A K3TRIO-SERVICES -m comment --comment "default/web:http loadbalancer '
                       f'IP" -d 192.0.2.20/32 -p tcp -m tcp --dport 80 -j {EXT}')
    assert "192.0.2.30" not in p
    assert rules_of(p, "nat", EXT) == [
        f'-A {EXT} -m comment --comment "masquerade traffic for default/web:http external '
        f'destinations" -j K3TRIO-MARK-MASQ', f"-A {EXT} -j {SVC}"]


@pytest.mark.parametrize("proto", ["UDP", "SCTP"])
def test_protocols(proto: str) -> None:
    s = svc(ports=[{"name": "dns", "port": 53, "protocol": proto}])
    p = build_payload([s], [slice_([ep("10.42.0.1")], ports=[
        {"name": "dns", "port": 5353, "protocol": proto}])], NODE)
    low = proto.lower()
    assert f"-p {low} -m {low} --dport 53 -j {chain_name('SVC', 'default/web:dns' + proto)}" \
        in rules_of(p, "nat", "K3TRIO-SERVICES")[0]
    assert f"-p {low} -m {low} -j DNAT --to-destination 10.42.0.1:5353" in p


def test_headless_external_name_and_unnamed_port() -> None:
    assert service_ports(svc(clusterIP="None")) == []
    assert service_ports(svc(type="ExternalName", clusterIP="")) == []
    s = svc("kubernetes", ports=[{"name": "https", "port": 443, "protocol": "TCP"}],
            clusterIP="10.43.0.1")
    sl = slice_([ep("192.0.2.5", node="")], name="kubernetes",
                ports=[{"name": "https", "port": 6443, "protocol": "TCP"}])
    p = build_payload([s], [sl], NODE)
    assert "-d 10.43.0.1/32 -p tcp -m tcp --dport 443" in p
    assert "--to-destination 192.0.2.5:6443" in p
    unnamed = svc(ports=[{"port": 80, "protocol": "TCP"}])
    q = build_payload([unnamed], [slice_([ep("10.42.0.1")], ports=[
        {"name": "", "port": 80, "protocol": "TCP"}])], NODE)
    assert '"default/web -> 10.42.0.1:80"' in q


def test_stale_chains_are_deleted_and_payload_is_deterministic() -> None:
    objs = ([svc()], [slice_([ep("10.42.0.1")])])
    first = build_payload(*objs, NODE, {"nat": ["K3TRIO-SVC-GONE", SVC]})
    assert ":K3TRIO-SVC-GONE - [0:0]" in first and "-X K3TRIO-SVC-GONE" in first
    assert f"-X {SVC}" not in first
    assert build_payload(*objs, NODE) == build_payload(*objs, NODE)
    assert first.endswith("COMMIT\n")


def test_cleanup_payload() -> None:
    assert cleanup_payload({"nat": [], "filter": []}) == ""
    assert cleanup_payload({"nat": ["K3TRIO-SERVICES", SVC]}) == (
        f"*nat\n:K3TRIO-SERVICES - [0:0]\n:{SVC} - [0:0]\n-X K3TRIO-SERVICES\n-X {SVC}\n"
        "COMMIT\n")


def test_load_balancer_source_ranges() -> None:
    s = svc(type="LoadBalancer", loadBalancerSourceRanges=["203.0.113.0/24"],
            ports=[{"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080}])
    s["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.20", "ipMode": "VIP"}]}}
    p = build_payload([s], [slice_([ep("10.42.0.1")])], NODE)
    fw = chain_name("FW", KEY)
    assert (f'-A K3TRIO-SERVICES -m comment --comment "default/web:http loadbalancer IP" '
            f"-d 192.0.2.20/32 -p tcp -m tcp --dport 80 -j {fw}") in p
    assert rules_of(p, "nat", fw) == [
        f'-A {fw} -m comment --comment "default/web:http loadbalancer IP" -s 203.0.113.0/24 '
        f"-j {EXT}"]
    assert rules_of(p, "filter", "K3TRIO-EXTERNAL-SERVICES") == [
        f'-A K3TRIO-EXTERNAL-SERVICES -m comment --comment "default/web:http traffic not '
        f'accepted by {fw}" -d 192.0.2.20/32 -p tcp -m tcp --dport 80 -j DROP']
    assert owned_chain(fw)
