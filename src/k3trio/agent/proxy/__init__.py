"""The service proxy (kube-proxy's iptables mode): ``rules`` turns Services and
EndpointSlices into one ``iptables-restore`` payload (pure); ``iptables`` applies and removes
it; ``run`` keeps it current from informers."""
